using Microsoft.Extensions.Configuration;
using Osvi.Bridge.Adapters.Telegram;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Tests;

/// <summary><c>Telegram:Bots:N</c> and <c>Slack:Apps:N</c>: each entry validated by its full key, inheriting what it does not set.</summary>
public sealed class SeveralChannelsConfigurationTests
{
    private const string Token = "123456:AAE-valid_token";
    private const string OtherToken = "654321:AAE-other_token";

    private static IConfiguration Config(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

    private static List<string> Problems(Dictionary<string, string?> settings)
    {
        settings.TryAdd("Osvi:ApiToken", "t");
        return ConfigurationCheck.FindProblems(Config(settings), requireChannel: true);
    }

    [Fact]
    public void A_bot_of_the_list_is_validated_by_its_full_key()
    {
        var problems = Problems(new()
        {
            ["Osvi:AgentUuid"] = "a",
            ["Telegram:BotToken"] = Token,
            ["Telegram:Bots:0:BotToken"] = "not-a-token",
            ["Telegram:Bots:1:AgentUuid"] = "b",
            ["Telegram:Bots:1:Mode"] = "Webhook",
            ["Telegram:Bots:2:BotToken"] = OtherToken,
            ["Telegram:Bots:2:AllowedChatIds"] = "12,abc",
        });

        Assert.Contains(problems, p => p.StartsWith("Telegram:Bots:0:BotToken must look like", StringComparison.Ordinal));
        Assert.Contains("Telegram:Bots:1:BotToken is required", problems);
        Assert.Contains("Telegram:Bots:1:WebhookUrl is required in Webhook mode", problems);
        Assert.Contains("Telegram:Bots:1:WebhookSecret is required in Webhook mode", problems);
        Assert.Contains(problems, p => p.StartsWith("Telegram:Bots:2:AllowedChatIds: 'abc' is not a Telegram id", StringComparison.Ordinal));
        Assert.DoesNotContain(problems, p => p.StartsWith("Telegram:WebhookUrl", StringComparison.Ordinal));
    }

    [Fact]
    public void The_same_bot_or_app_listed_twice_is_a_problem()
    {
        var problems = Problems(new()
        {
            ["Osvi:AgentUuid"] = "a",
            ["Telegram:BotToken"] = Token,
            ["Telegram:Bots:0:BotToken"] = Token,
            ["Slack:BotToken"] = "xoxb-1",
            ["Slack:AppToken"] = "xapp-1",
            ["Slack:Apps:0:AppId"] = "A1",
            ["Slack:Apps:0:BotToken"] = "xoxb-1",
            ["Slack:Apps:0:AppToken"] = "xapp-2",
        });

        Assert.Contains(problems, p => p.StartsWith("Telegram:Bots:0:BotToken is bot 123456 again, already configured at Telegram:BotToken", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Slack:Apps:0:BotToken is the bot token of Slack:BotToken again", StringComparison.Ordinal));
    }

    [Fact]
    public void A_further_slack_app_names_its_app_id_and_a_way_to_reach_it()
    {
        var problems = Problems(new()
        {
            ["Osvi:AgentUuid"] = "a",
            ["Slack:BotToken"] = "xoxb-1",
            ["Slack:AppToken"] = "xapp-1",
            ["Slack:Apps:0:BotToken"] = "xoxb-2",
            ["Slack:Apps:1:AppId"] = "lower-case",
            ["Slack:Apps:1:BotToken"] = "xoxb-3",
            ["Slack:Apps:1:SigningSecret"] = "s",
        });

        Assert.Contains(problems, p => p.StartsWith("Slack:Apps:0:AppId is required beside another Slack app", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Slack:Apps:0:BotToken is set but Slack cannot reach the bridge", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Slack:Apps:1:AppId must be a Slack app ID", StringComparison.Ordinal));
        // The app token is the entry's own: Slack:AppToken is not inherited.
        Assert.DoesNotContain(problems, p => p.StartsWith("Slack:Apps:1", StringComparison.Ordinal) && p.Contains("cannot reach", StringComparison.Ordinal));
    }

    [Fact]
    public void Osvi_agent_uuid_is_needed_only_when_some_bot_or_app_names_no_agent()
    {
        var everyoneNamesOne = Problems(new()
        {
            ["Telegram:Bots:0:BotToken"] = Token,
            ["Telegram:Bots:0:AgentUuid"] = "support-agent",
            ["Slack:Apps:0:BotToken"] = "xoxb-1",
            ["Slack:Apps:0:AppToken"] = "xapp-1",
            ["Slack:Apps:0:AgentUuid"] = "sales-agent",
        });
        var oneNamesNone = Problems(new()
        {
            ["Telegram:Bots:0:BotToken"] = Token,
            ["Telegram:Bots:0:AgentUuid"] = "support-agent",
            ["Telegram:Bots:1:BotToken"] = OtherToken,
        });
        var todaysSingleBot = Problems(new() { ["Telegram:BotToken"] = Token });

        Assert.Empty(everyoneNamesOne);
        Assert.Contains("Osvi:AgentUuid is required", oneNamesNone);
        Assert.Contains("Osvi:AgentUuid is required", todaysSingleBot);
    }

    [Fact]
    public void A_bridge_of_listed_bots_only_builds_without_osvi_agent_uuid()
    {
        var app = BridgeApp.CreateWorker([], b =>
        {
            b.Configuration.Sources.Clear();
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Osvi:ApiToken"] = "t",
                ["Telegram:Bots:0:BotToken"] = Token,
                ["Telegram:Bots:0:AgentUuid"] = "support-agent",
                ["Telegram:Bots:1:BotToken"] = OtherToken,
                ["Telegram:Bots:1:AgentUuid"] = "sales-agent",
            });
        });

        var senders = app.Services.GetServices<IReplySender>().Select(s => s.Platform + ":" + s.Instance).ToList();
        Assert.Equal(["telegram:", "telegram:654321"], senders);
        Assert.Equal("support-agent", app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<global::Osvi.Bridge.Osvi.OsviOptions>>().Value.AgentUuid);
    }

    [Fact]
    public void A_bot_of_the_list_inherits_the_telegram_keys_it_does_not_set_but_never_the_credentials()
    {
        var configuration = Config(new()
        {
            ["Telegram:BotToken"] = Token,
            ["Telegram:ApiBaseUrl"] = "http://telegram.internal",
            ["Telegram:WebhookSecret"] = "top-secret",
            ["Telegram:AllowedChatIds"] = "1,2",
            ["Telegram:AllowedUserIds"] = "3",
            ["Telegram:GroupPerMinute"] = "40",
            ["Telegram:Bots:0:BotToken"] = OtherToken,
            ["Telegram:Bots:0:AllowedChatIds:0"] = "9",
            ["Telegram:Bots:0:NotAllowedNotice"] = "Sales only.",
        });
        var options = new TelegramOptions();
        var problems = new List<string>();

        TelegramBotEntries.Bind(options, configuration.GetSection("Telegram"), configuration.GetSection("Telegram:Bots:0"), problems);

        Assert.Empty(problems);
        Assert.Equal(OtherToken, options.BotToken);
        Assert.Equal("http://telegram.internal", options.ApiBaseUrl);
        Assert.Equal(40, options.GroupPerMinute);
        Assert.Equal([9L], options.AllowedChatIds);
        Assert.Equal([3L], options.AllowedUserIds);
        Assert.Equal("Sales only.", options.NotAllowedNotice);
        Assert.Equal("", options.WebhookSecret);
        Assert.Equal("Telegram:Bots:0", options.ConfigPath);
    }

    [Fact]
    public void A_stored_message_keeps_its_bot_and_agent_and_an_older_entry_reads_as_the_default_bot()
    {
        var message = new InboundMessage("telegram", new ConversationKey("telegram:654321:42"), "5000", "42", "Alice", "hi", new ReplyTarget("42"))
        {
            Instance = "654321",
            AgentUuid = "sales-agent",
        };

        var read = StoredMessage.Deserialize(StoredMessage.Serialize(message))!;
        var older = StoredMessage.Deserialize(
            """{"platform":"telegram","conversation":"telegram:123456:42","id":"5000","user":"42","name":"Alice","text":"hi","chat":"42","thread":null,"replyTo":null,"received":"2026-01-01T00:00:00+00:00"}""")!;

        Assert.Equal("654321", read.Instance);
        Assert.Equal("sales-agent", read.AgentUuid);
        Assert.Equal("654321:5000", read.DeduplicationId);
        Assert.Equal("", older.Instance);
        Assert.Null(older.AgentUuid);
        Assert.DoesNotContain("instance", StoredMessage.Serialize(older), StringComparison.Ordinal);
    }
}

/// <summary><c>/readyz</c>'s channel check with several bots: the one down is named, and only a platform with none up is unhealthy.</summary>
public sealed class ChannelsReadinessTests
{
    private static Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult Check(params (string Channel, bool Connected)[] channels)
    {
        var board = new ChannelStatusBoard();
        foreach (var (channel, connected) in channels)
        {
            board.Report(channel, connected, connected ? "polling" : "refused");
        }
        return new ChannelsReadinessCheck(board).CheckHealthAsync(null!).GetAwaiter().GetResult();
    }

    [Fact]
    public void A_single_bot_down_is_unhealthy_as_it_always_was()
    {
        var result = Check(("telegram", false), ("slack", true));

        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, result.Status);
        Assert.StartsWith("down: telegram;", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void One_bot_down_beside_another_of_its_platform_is_degraded_and_named()
    {
        var result = Check(("telegram", true), ("telegram:654321", false), ("slack", true));

        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded, result.Status);
        Assert.StartsWith("down: telegram:654321;", result.Description, StringComparison.Ordinal);
        Assert.Contains("telegram:654321: refused", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_bot_of_a_platform_down_is_unhealthy()
    {
        var result = Check(("telegram", false), ("telegram:654321", false), ("slack", true));

        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, result.Status);
        Assert.StartsWith("down: telegram, telegram:654321;", result.Description, StringComparison.Ordinal);
    }
}
