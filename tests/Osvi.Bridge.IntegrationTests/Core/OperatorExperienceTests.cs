using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.IntegrationTests.Telegram;

namespace Osvi.Bridge.IntegrationTests.Core;

/// <summary>
/// What an operator sees from the real process: configuration mistakes as exit code 2 naming every
/// key, a busy port as exit code 1 in one line, and a <c>chat</c> that keeps to the conversation.
/// </summary>
public sealed class OperatorExperienceTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private FakeOsviServer _osvi = null!;
    private FakeTelegramServer _telegram = null!;

    public async Task InitializeAsync()
    {
        _osvi = await FakeOsviServer.StartAsync();
        _telegram = await FakeTelegramServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _telegram.DisposeAsync();
        await _osvi.DisposeAsync();
    }

    private Dictionary<string, string?> Valid(int port) => new()
    {
        ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
        ["Osvi__BaseUrl"] = _osvi.BaseUrl,
        ["Osvi__ApiToken"] = FakeOsviServer.Token,
        ["Osvi__AgentUuid"] = FakeOsviServer.Agent,
        ["Telegram__BotToken"] = FakeTelegramServer.Token,
        ["Telegram__ApiBaseUrl"] = _telegram.BaseUrl,
        ["Telegram__PollingTimeout"] = "00:00:01",
    };

    private static Dictionary<string, string?> Malformed(Dictionary<string, string?> valid)
    {
        valid["Osvi__ApiToken"] = "";
        valid["Osvi__RequestTimeout"] = "abc";
        valid["Osvi__MaxRetries"] = "four";
        valid["Bridge__MaxConcurrency"] = "lots";
        valid["Sessions__IdleTimeout"] = "7 days";
        valid["Redis__ConnectionString"] = "localhost:notaport";
        valid["Telegram__AllowedChatIds__0"] = "abc";
        return valid;
    }

    private static void AssertEveryMalformedKeyIsNamed(BridgeProcess bridge)
    {
        Assert.True(bridge.ExitCode == 2, $"exit code {bridge.ExitCode}:\n{bridge.Output}\n{bridge.Errors}");
        var errors = bridge.Errors;
        Assert.Contains("Osvi:ApiToken is required", errors, StringComparison.Ordinal);
        Assert.Contains("Osvi:RequestTimeout: 'abc' is not valid; use a duration", errors, StringComparison.Ordinal);
        Assert.Contains("Osvi:MaxRetries: 'four' is not valid; use a whole number", errors, StringComparison.Ordinal);
        Assert.Contains("Bridge:MaxConcurrency: 'lots' is not valid", errors, StringComparison.Ordinal);
        Assert.Contains("Sessions:IdleTimeout: '7 days' is not valid", errors, StringComparison.Ordinal);
        Assert.Contains("Redis:ConnectionString: 'localhost:notaport' is not an endpoint", errors, StringComparison.Ordinal);
        Assert.Contains("Telegram:AllowedChatIds:0: 'abc' is not a Telegram id", errors, StringComparison.Ordinal);
        Assert.DoesNotContain(bridge.StandardError, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.DoesNotContain("Exception", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_worker_exits_2_naming_every_malformed_key_without_a_stack_trace()
    {
        using var bridge = await BridgeProcess.RunAsync([], Malformed(Valid(RedisServerFixture.FreePort())));

        AssertEveryMalformedKeyIsNamed(bridge);
    }

    [Fact]
    public async Task Check_exits_2_naming_every_malformed_key_without_a_stack_trace()
    {
        using var bridge = await BridgeProcess.RunAsync(["check"], Malformed(Valid(RedisServerFixture.FreePort())));

        AssertEveryMalformedKeyIsNamed(bridge);
    }

    [Fact]
    public async Task A_port_in_use_exits_1_with_one_line_on_stderr()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        using var bridge = await BridgeProcess.RunAsync([], Valid(port));

        Assert.True(bridge.ExitCode == 1, $"exit code {bridge.ExitCode}:\n{bridge.Output}\n{bridge.Errors}");
        var line = Assert.Single(bridge.StandardError);
        Assert.Contains($"127.0.0.1:{port}", line, StringComparison.Ordinal);
        Assert.Contains("in use", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_telegram_refuses_during_the_background_start_up_ends_the_process_with_exit_2()
    {
        _telegram.RejectToken = true;

        using var bridge = await BridgeProcess.RunAsync([], Valid(RedisServerFixture.FreePort()));

        Assert.True(bridge.ExitCode == 2, $"exit code {bridge.ExitCode}:\n{bridge.Output}\n{bridge.Errors}");
        Assert.Contains("Telegram:BotToken", bridge.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain(FakeTelegramServer.Token, bridge.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_osvi_refuses_at_start_ends_the_worker_with_exit_2_naming_Osvi_ApiToken()
    {
        _osvi.RejectToken = true;

        using var bridge = await BridgeProcess.RunAsync([], Valid(RedisServerFixture.FreePort()));

        Assert.True(bridge.ExitCode == 2, $"exit code {bridge.ExitCode}:\n{bridge.Output}\n{bridge.Errors}");
        Assert.Contains("Osvi:ApiToken", bridge.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain(FakeOsviServer.Token, bridge.Output + bridge.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain(bridge.StandardError, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_v1_agent_osvi_does_not_know_ends_the_worker_with_exit_2_naming_Osvi_AgentUuid()
    {
        await using var v1 = await FakeOsviV1Server.StartAsync();
        var environment = Valid(RedisServerFixture.FreePort());
        environment["Osvi__BaseUrl"] = v1.BaseUrl;
        environment["Osvi__ApiVersion"] = "V1";
        environment["Osvi__AgentUuid"] = "agent_Wrong_0002";

        using var bridge = await BridgeProcess.RunAsync([], environment);

        Assert.True(bridge.ExitCode == 2, $"exit code {bridge.ExitCode}:\n{bridge.Output}\n{bridge.Errors}");
        Assert.Contains("Osvi:AgentUuid", bridge.Errors, StringComparison.Ordinal);
        Assert.Empty(v1.CreatedSessions);
    }

    [Fact]
    public async Task An_unreachable_osvi_keeps_readyz_503_with_healthz_up_until_it_answers()
    {
        var osviPort = RedisServerFixture.FreePort();
        var port = RedisServerFixture.FreePort();
        var environment = Valid(port);
        environment["Osvi__BaseUrl"] = $"http://127.0.0.1:{osviPort}";
        environment["Osvi__AuthProbeInterval"] = "00:00:00.500";
        using var bridge = BridgeProcess.Start([], environment);
        using var http = new HttpClient();
        await Eventually.HoldsAsync(() => bridge.HasExited || Answers(http, $"http://127.0.0.1:{port}/healthz") == HttpStatusCode.OK, "/healthz 200");
        using (var ready = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/readyz")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Contains("OSVI token and agent not verified yet", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await using var osvi = await FakeOsviServer.StartAsync(osviPort);

        await Eventually.HoldsAsync(() => bridge.HasExited || Answers(http, $"http://127.0.0.1:{port}/readyz") == HttpStatusCode.OK, "/readyz 200");
        Assert.False(bridge.HasExited, bridge.Errors);
        bridge.Signal("TERM");
        await bridge.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    private static HttpStatusCode? Answers(HttpClient http, string url)
    {
        try
        {
            using var response = http.GetAsync(new Uri(url)).GetAwaiter().GetResult();
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    [Fact]
    public async Task Chat_opens_no_listener_so_it_runs_beside_a_worker_holding_the_port_and_shows_only_the_conversation()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var environment = Valid(port);
        environment.Remove("ASPNETCORE_URLS");
        environment["ASPNETCORE_HTTP_PORTS"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        using var bridge = BridgeProcess.Start(["chat"], environment);
        await bridge.Input.WriteLineAsync("hello");
        // Ctrl+D: the end of the input leaves the chat.
        bridge.Input.Close();
        await bridge.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(bridge.ExitCode == 0, $"exit code {bridge.ExitCode}:\n{bridge.Output}\n{bridge.Errors}");
        Assert.Contains("agent> echo: hello", bridge.Output, StringComparison.Ordinal);
        Assert.All(bridge.StandardOutput, l => Assert.True(
            l.StartsWith("Chatting with", StringComparison.Ordinal) || l.StartsWith("Type a message", StringComparison.Ordinal)
            || l.StartsWith("you> ", StringComparison.Ordinal) || l.StartsWith("agent> ", StringComparison.Ordinal) || l.StartsWith("       ", StringComparison.Ordinal),
            "not part of the conversation: " + l));
        Assert.DoesNotContain(bridge.StandardError, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Chat_leaves_at_once_with_exit_0_on_ctrl_c()
    {
        var environment = Valid(RedisServerFixture.FreePort());
        using var bridge = BridgeProcess.Start(["chat"], environment);
        await Eventually.HoldsAsync(() => bridge.StandardOutput.Any(l => l.StartsWith("Type a message", StringComparison.Ordinal)) || bridge.HasExited,
            "the chat prompt");

        bridge.Signal("INT");
        await bridge.WaitForExitAsync(TimeSpan.FromSeconds(15));

        Assert.True(bridge.ExitCode == 0, $"exit code {bridge.ExitCode}:\n{bridge.Output}\n{bridge.Errors}");
        Assert.DoesNotContain("shutting down", bridge.Output + bridge.Errors, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Chat_with_a_token_osvi_refuses_exits_2_before_the_first_prompt()
    {
        var environment = Valid(RedisServerFixture.FreePort());
        environment["Osvi__ApiToken"] = "wrong-token-123456";

        using var bridge = await BridgeProcess.RunAsync(["chat"], environment);

        Assert.True(bridge.ExitCode == 2, $"exit code {bridge.ExitCode}:\n{bridge.Output}\n{bridge.Errors}");
        Assert.Contains("Osvi:ApiToken", bridge.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("you>", bridge.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-token-123456", bridge.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_log_lines_carry_scopes_as_fields_and_say_which_redis_is_used()
    {
        _osvi.WelcomeMessage = null;
        var port = RedisServerFixture.FreePort();
        var environment = Valid(port);
        environment["Redis__ConnectionString"] = redis.ConnectionString;
        environment["Redis__KeyPrefix"] = RedisServerFixture.NewKeyPrefix();
        using var bridge = BridgeProcess.Start([], environment);

        _telegram.EnqueueMessage(FakeTelegramServer.Private(71, "hello"));
        await _telegram.WaitForTextAsync(71, "echo: hello");
        bridge.Signal("TERM");
        await bridge.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, bridge.ExitCode);
        var lines = bridge.StandardOutput.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.DoesNotContain(bridge.StandardOutput, l => l.Contains("System.Collections.Generic", StringComparison.Ordinal));
        var started = Assert.Single(lines, l => l.GetProperty("Message").GetString()!.StartsWith("Started OSVI session", StringComparison.Ordinal));
        var scope = Assert.Single(started.GetProperty("Scopes").EnumerateArray(), s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("ConversationKey", out _));
        Assert.Equal($"telegram:{FakeTelegramServer.BotId}:71", scope.GetProperty("ConversationKey").GetString());
        Assert.Contains(lines, l => l.GetProperty("Message").GetString()!.StartsWith($"Redis {redis.ConnectionString.Split(',')[0]}: connected, mode Standalone", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Readyz_names_a_refused_redis_connection_as_refused()
    {
        var port = RedisServerFixture.FreePort();
        var settings = TelegramChannelTests.TelegramSettings(_osvi, _telegram, redis: null);
        settings["Redis:ConnectionString"] = $"127.0.0.1:{port},connectTimeout=200,abortConnect=false";
        await using var host = await BridgeHost.StartAsync(settings);

        var ready = await host.Http.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains($"connection refused by 127.0.0.1:{port}", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync("/healthz")).StatusCode);
    }
}
