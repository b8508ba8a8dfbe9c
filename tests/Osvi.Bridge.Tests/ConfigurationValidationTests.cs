using Microsoft.Extensions.Configuration;
using Osvi.Bridge.Hosting;

namespace Osvi.Bridge.Tests;

public sealed class ConfigurationValidationTests
{
    private static AggregateException BuildWith(Dictionary<string, string?> settings) =>
        Assert.Throws<AggregateException>(() => BridgeApp.CreateWorker([], b =>
        {
            // Start from a clean slate so the machine's environment cannot satisfy a required key.
            b.Configuration.Sources.Clear();
            b.Configuration.AddInMemoryCollection(settings);
        }));

    private static List<string> Messages(AggregateException ex) =>
        ex.Flatten().InnerExceptions.SelectMany(e => e is Microsoft.Extensions.Options.OptionsValidationException o ? o.Failures : [e.Message]).ToList();

    [Fact]
    public void Missing_token_agent_and_channel_are_all_reported_by_key()
    {
        var messages = Messages(BuildWith(new()));

        Assert.Contains(messages, m => m.Contains("Osvi:ApiToken is required", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("Osvi:AgentUuid is required", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("No channel is configured", StringComparison.Ordinal));
    }

    [Fact]
    public void Out_of_range_values_name_their_key()
    {
        var messages = Messages(BuildWith(new()
        {
            ["Osvi:ApiToken"] = "t",
            ["Osvi:AgentUuid"] = "a",
            ["Osvi:BaseUrl"] = "not a url",
            ["Bridge:MaxConcurrency"] = "0",
            ["Sessions:IdleTimeout"] = "00:00:01",
        }));

        Assert.Contains(messages, m => m.Contains("Osvi:BaseUrl must be an absolute http(s) URL", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("Bridge:MaxConcurrency must be between 1 and 100000", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("Sessions:IdleTimeout must be between", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_malformed_value_is_reported_together_by_key_with_the_accepted_form()
    {
        var messages = Messages(BuildWith(new()
        {
            ["Osvi:AgentUuid"] = "a",
            ["Osvi:RequestTimeout"] = "abc",
            ["Osvi:MaxRetries"] = "four",
            ["Bridge:SendWelcomeMessage"] = "yes",
            ["Bridge:MaxConcurrency"] = "0",
            ["Sessions:IdleTimeout"] = "7 days",
            ["Redis:ConnectionString"] = "localhost:notaport",
            ["Slack:BotToken"] = "xoxb-1",
            ["Slack:SigningSecret"] = "s",
            ["Slack:PostsPerSecondPerChannel"] = "1,5",
        }));

        Assert.Contains("Osvi:RequestTimeout: 'abc' is not valid; use a duration as [d.]hh:mm:ss[.fff], e.g. 00:00:30 (30 seconds) or 1.00:00:00 (one day)", messages);
        Assert.Contains("Osvi:MaxRetries: 'four' is not valid; use a whole number, e.g. 10", messages);
        Assert.Contains("Bridge:SendWelcomeMessage: 'yes' is not valid; use true or false", messages);
        Assert.Contains(messages, m => m.StartsWith("Sessions:IdleTimeout: '7 days' is not valid; use a duration", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("Redis:ConnectionString: 'localhost:notaport' is not an endpoint; use host:port", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("Slack:PostsPerSecondPerChannel: '1,5' is not valid; use a number", StringComparison.Ordinal));
        // The other keys of the same sections are still checked.
        Assert.Contains("Osvi:ApiToken is required", messages);
        Assert.Contains("Bridge:MaxConcurrency must be between 1 and 100000", messages);
    }

    [Fact]
    public void The_conversation_experience_settings_name_their_key_when_wrong()
    {
        var messages = Messages(BuildWith(new()
        {
            ["Osvi:ApiToken"] = "t",
            ["Osvi:AgentUuid"] = "a",
            ["Bridge:MaxQuoteLength"] = "5000",
            ["Bridge:MergeQueuedMessages"] = "sometimes",
            ["Telegram:BotToken"] = "123:abc",
            ["Telegram:ThinkingStyle"] = "Sparkles",
            ["Telegram:DraftRefreshInterval"] = "00:00:45",
            ["Telegram:PollWatchdogGrace"] = "00:00:00",
            ["Telegram:ResetCommandDescription"] = new string('x', 300),
            ["Slack:BotToken"] = "xoxb-1",
            ["Slack:SigningSecret"] = "s",
            ["Slack:SlashCommand"] = "osvi",
        }));

        Assert.Contains(messages, m => m.StartsWith("Bridge:MaxQuoteLength must be between 0 and 4096", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("Bridge:MergeQueuedMessages: 'sometimes' is not valid", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("Telegram:ThinkingStyle", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("Telegram:DraftRefreshInterval must be between", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("Telegram:PollWatchdogGrace must be between 00:00:01 and 00:05:00", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("Telegram:ResetCommandDescription must be 1-256 characters", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("Slack:SlashCommand must be '/'", StringComparison.Ordinal));
    }

    [Fact]
    public void An_attempt_timeout_longer_than_the_total_timeout_is_inconsistent()
    {
        var messages = Messages(BuildWith(new()
        {
            ["Osvi:ApiToken"] = "t", ["Osvi:AgentUuid"] = "a", ["Osvi:RequestTimeout"] = "00:05:00", ["Osvi:TotalTimeout"] = "00:01:00",
        }));

        Assert.Contains(messages, m => m.StartsWith("Osvi:RequestTimeout (00:05:00) must not be longer than Osvi:TotalTimeout (00:01:00)", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("redis:6379,password=secret,ssl=true", null)]
    [InlineData("[::1]:6379,10.0.0.2", null)]
    [InlineData("redis:99999", "'redis:99999' is not an endpoint")]
    [InlineData("redis:6379,connectTimeout=soon", "Keyword 'connectTimeout' requires an integer value")]
    [InlineData("password=secret", "names no server")]
    public void The_redis_connection_string_is_checked_without_printing_the_password(string connectionString, string? expected)
    {
        var result = new global::Osvi.Bridge.Storage.RedisOptionsValidator().Validate(null, new() { ConnectionString = connectionString });

        if (expected is null)
        {
            Assert.True(result.Succeeded, result.FailureMessage);
        }
        else
        {
            var failure = Assert.Single(result.Failures!);
            Assert.StartsWith("Redis:ConnectionString", failure, StringComparison.Ordinal);
            Assert.Contains(expected, failure, StringComparison.Ordinal);
            Assert.DoesNotContain("secret", failure, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_program_prints_configuration_errors_and_exits_with_code_2()
    {
        var error = new StringWriter();
        var original = Console.Error;
        Console.SetError(error);
        int code;
        try
        {
            code = await BridgeProgram.RunAsync(["--Osvi:ApiToken=", "--Osvi:AgentUuid=", "--Telegram:BotToken=", "--Slack:BotToken="]);
        }
        finally
        {
            Console.SetError(original);
        }

        Assert.Equal(BridgeProgram.ExitConfiguration, code);
        Assert.Contains("Osvi:ApiToken is required", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("V2")]
    [InlineData("7")]
    public async Task An_unknown_osvi_api_version_is_a_configuration_error_naming_its_key(string value)
    {
        var error = new StringWriter();
        var original = Console.Error;
        Console.SetError(error);
        int code;
        try
        {
            code = await BridgeProgram.RunAsync(["--Osvi:ApiToken=t", "--Osvi:AgentUuid=a", $"--Osvi:ApiVersion={value}", "--Telegram:BotToken=", "--Slack:BotToken="]);
        }
        finally
        {
            Console.SetError(original);
        }

        Assert.Equal(BridgeProgram.ExitConfiguration, code);
        Assert.Contains("Osvi:ApiVersion", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Legacy")]
    [InlineData("v1")]
    public void Both_api_versions_are_accepted(string value)
    {
        var messages = Messages(BuildWith(new() { ["Osvi:ApiToken"] = "t", ["Osvi:AgentUuid"] = "a", ["Osvi:ApiVersion"] = value }));

        Assert.DoesNotContain(messages, m => m.Contains("ApiVersion", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("No channel is configured", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_support_channel_without_chat_v1_and_slack_is_a_configuration_error_naming_the_key()
    {
        var error = new StringWriter();
        var original = Console.Error;
        Console.SetError(error);
        int code;
        try
        {
            code = await BridgeProgram.RunAsync(["--Osvi:ApiToken=t", "--Osvi:AgentUuid=a", "--Osvi:ApiVersion=Legacy", "--Telegram:BotToken=1:x",
                "--Slack:BotToken=", "--Handoff:SlackChannel=C0123456789"]);
        }
        finally
        {
            Console.SetError(original);
        }

        Assert.Equal(BridgeProgram.ExitConfiguration, code);
        Assert.Contains("Handoff:SlackChannel needs Osvi:ApiVersion=V1", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("Handoff:SlackChannel needs the Slack channel: set Slack:BotToken", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("#support")]
    [InlineData("support")]
    public void A_support_channel_name_instead_of_its_id_is_refused_by_key(string value)
    {
        var messages = Messages(BuildWith(new()
        {
            ["Osvi:ApiToken"] = "t", ["Osvi:AgentUuid"] = "a", ["Osvi:ApiVersion"] = "V1", ["Slack:BotToken"] = "xoxb-1", ["Slack:AppToken"] = "xapp-1",
            ["Handoff:SlackChannel"] = value,
        }));

        Assert.Contains(messages, m => m.StartsWith($"Handoff:SlackChannel '{value}' is not a Slack channel id", StringComparison.Ordinal));
        Assert.DoesNotContain(messages, m => m.Contains("needs", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_support_channel_is_served_by_the_default_slack_app_from_the_list_too()
    {
        await using var app = BridgeApp.CreateWorker([], b =>
        {
            b.Configuration.Sources.Clear();
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Osvi:ApiToken"] = "t", ["Osvi:AgentUuid"] = "a", ["Osvi:ApiVersion"] = "V1",
                ["Slack:Apps:0:BotToken"] = "xoxb-1", ["Slack:Apps:0:AppToken"] = "xapp-1", ["Handoff:SlackChannel"] = "C0123456789",
            });
        });

        Assert.NotNull(app.Services.GetService(typeof(global::Osvi.Bridge.Handoff.SupportChannel)));
    }

    [Fact]
    public async Task An_unknown_command_is_a_usage_error()
    {
        var original = Console.Error;
        Console.SetError(TextWriter.Null);
        try
        {
            Assert.Equal(BridgeProgram.ExitUsage, await BridgeProgram.RunAsync(["frobnicate"]));
        }
        finally
        {
            Console.SetError(original);
        }
    }
}
