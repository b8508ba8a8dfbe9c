using Microsoft.Extensions.Configuration;
using Osvi.Bridge.Hosting;

namespace Osvi.Bridge.Tests.Telegram;

public sealed class TelegramOptionsTests
{
    private static List<string> Problems(Dictionary<string, string?> telegram, bool withOsvi = true)
    {
        var settings = withOsvi ? new Dictionary<string, string?> { ["Osvi:ApiToken"] = "t", ["Osvi:AgentUuid"] = "a" } : [];
        foreach (var (key, value) in telegram)
        {
            settings["Telegram:" + key] = value;
        }
        var ex = Assert.Throws<AggregateException>(() => BridgeApp.CreateWorker([], b =>
        {
            b.Configuration.Sources.Clear();
            b.Configuration.AddInMemoryCollection(settings);
        }));
        return ex.Flatten().InnerExceptions
            .SelectMany(e => e is Microsoft.Extensions.Options.OptionsValidationException o ? o.Failures : [e.Message]).ToList();
    }

    [Fact]
    public void Webhook_mode_requires_url_and_secret_by_key()
    {
        var problems = Problems(new() { ["BotToken"] = "123:abc", ["Mode"] = "Webhook" });

        Assert.Contains(problems, p => p.Contains("Telegram:WebhookUrl is required in Webhook mode", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("Telegram:WebhookSecret is required in Webhook mode", StringComparison.Ordinal));
    }

    [Fact]
    public void A_malformed_token_and_an_out_of_range_timeout_name_their_keys()
    {
        var problems = Problems(new() { ["BotToken"] = "not-a-token", ["PollingTimeout"] = "00:05:00" });

        Assert.Contains(problems, p => p.Contains("Telegram:BotToken must look like", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("Telegram:PollingTimeout must be between", StringComparison.Ordinal));
    }

    [Fact]
    public void A_bad_secret_names_its_key()
    {
        var problems = Problems(new()
        {
            ["BotToken"] = "123:abc", ["Mode"] = "Webhook", ["WebhookUrl"] = "https://x.example/telegram/webhook", ["WebhookSecret"] = "has spaces!",
        });

        Assert.Contains(problems, p => p.Contains("Telegram:WebhookSecret must be 1-256 characters", StringComparison.Ordinal));
    }

    [Fact]
    public void A_misspelled_mode_is_reported_by_key()
    {
        var problems = Problems(new() { ["BotToken"] = "123:abc", ["Mode"] = "Webhok" });
        Assert.Contains(problems, p => p.Contains("'Telegram:Mode'", StringComparison.Ordinal));
    }

    [Fact]
    public void Without_a_token_the_channel_is_off()
    {
        var problems = Problems(new() { ["BotToken"] = "" });
        Assert.Contains(problems, p => p.Contains("No channel is configured", StringComparison.Ordinal));
    }

    [Fact]
    public void Telegram_problems_are_reported_together_with_the_others()
    {
        var problems = Problems(new() { ["BotToken"] = "123:abc", ["Mode"] = "Webhook" }, withOsvi: false);
        Assert.Contains(problems, p => p.Contains("Telegram:WebhookUrl is required in Webhook mode", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("Osvi:ApiToken is required", StringComparison.Ordinal));
    }
}
