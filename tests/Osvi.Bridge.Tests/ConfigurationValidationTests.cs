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
