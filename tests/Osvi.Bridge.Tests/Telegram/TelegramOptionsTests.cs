using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
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
        Assert.Contains("Telegram:Mode: 'Webhok' is not valid; use one of Polling, Webhook", problems);
    }

    [Fact]
    public void An_allow_list_entry_that_is_not_an_id_is_a_configuration_error_not_an_open_door()
    {
        var problems = Problems(new() { ["BotToken"] = "123:abc", ["AllowedChatIds:0"] = "abc", ["AllowedUserIds"] = "42,bob" });

        Assert.Contains(problems, p => p.StartsWith("Telegram:AllowedChatIds:0: 'abc' is not a Telegram id", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Telegram:AllowedUserIds: 'bob' is not a Telegram id", StringComparison.Ordinal));
    }

    [Fact]
    public void A_comma_separated_allow_list_as_written_in_env_files_is_read_as_a_list()
    {
        using var app = BridgeApp.CreateWorker([], b =>
        {
            b.Configuration.Sources.Clear();
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Osvi:ApiToken"] = "t", ["Osvi:AgentUuid"] = "a", ["Telegram:BotToken"] = "123:abc",
                ["Telegram:AllowedChatIds"] = "7777, -1008888", ["Telegram:AllowedUserIds:0"] = "5", ["Telegram:AllowedUserIds:1"] = "6,7",
            });
        });
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<global::Osvi.Bridge.Adapters.Telegram.TelegramOptions>>().Value;

        Assert.Equal([7777L, -1008888L], options.AllowedChatIds);
        Assert.Equal([5L, 6L, 7L], options.AllowedUserIds);
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
