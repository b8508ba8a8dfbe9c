using Osvi.Bridge.Hosting;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.IntegrationTests.Slack;

namespace Osvi.Bridge.IntegrationTests.Core;

/// <summary><c>Osvi.Bridge check</c> against a real redis-server and the fake OSVI.</summary>
public sealed class CheckCommandTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private FakeOsviServer _osvi = null!;

    public async Task InitializeAsync() => _osvi = await FakeOsviServer.StartAsync();

    public async Task DisposeAsync() => await _osvi.DisposeAsync();

    private Task<(int Code, string Output)> RunAsync(Dictionary<string, string?> overrides, params string[] flags) =>
        RunWithAsync(BridgeHost.BaseSettings(_osvi, redis), overrides, flags);

    private static async Task<(int Code, string Output)> RunWithAsync(Dictionary<string, string?> settings, Dictionary<string, string?> overrides, params string[] flags)
    {
        foreach (var pair in overrides)
        {
            settings[pair.Key] = pair.Value;
        }
        var args = settings.Where(p => p.Key != "urls").Select(p => $"--{p.Key}={p.Value}").Concat(flags).ToArray();
        var output = new StringWriter();
        var code = await CheckCommand.RunAsync(args, output);
        return (code, output.ToString());
    }

    [Fact]
    public async Task Passes_when_redis_and_osvi_answer_without_creating_a_session()
    {
        var (code, output) = await RunAsync(new() { ["Telegram:BotToken"] = "", ["Slack:BotToken"] = "" });

        Assert.Contains("[ OK ] redis:", output, StringComparison.Ordinal);
        Assert.Contains("[ OK ] osvi: token accepted; agent agent_Test_0001-abc is active (no session created)", output, StringComparison.Ordinal);
        Assert.Contains("[FAIL] channels: none configured", output, StringComparison.Ordinal);
        Assert.Equal(BridgeProgram.ExitFailure, code);
        Assert.Empty(_osvi.StartedSessions);
        Assert.DoesNotContain(FakeOsviServer.Token, output, StringComparison.Ordinal);
        Assert.Contains("token …0001", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_session_starts_and_closes_one_test_session()
    {
        var (_, output) = await RunAsync([], "--create-session");

        Assert.Contains("[ OK ] osvi: token accepted; agent agent_Test_0001-abc started test session", output, StringComparison.Ordinal);
        Assert.Single(_osvi.StartedSessions);
        Assert.Single(_osvi.ClosedSessions);
    }

    [Fact]
    public async Task A_refused_token_and_an_unreachable_redis_fail_with_clear_lines()
    {
        var (code, output) = await RunAsync(new()
        {
            ["Osvi:ApiToken"] = "wrong-token-123456",
            ["Redis:ConnectionString"] = "127.0.0.1:1,connectTimeout=200",
        });

        Assert.Equal(BridgeProgram.ExitFailure, code);
        Assert.Contains("[FAIL] osvi: OSVI refused the token (HTTP 401): fix Osvi:ApiToken", output, StringComparison.Ordinal);
        Assert.Contains("[FAIL] redis: unreachable: connection refused by 127.0.0.1:1", output, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-token-123456", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task V1_check_reads_a_probe_customers_active_session_and_creates_nothing()
    {
        await using var v1 = await FakeOsviV1Server.StartAsync();

        var (_, output) = await RunWithAsync(BridgeHost.BaseSettings(v1, redis), []);

        Assert.Contains("(chat API V1)", output, StringComparison.Ordinal);
        Assert.Contains("[ OK ] osvi: token accepted; Chat v1 answers for agent agent_Test_0001-abc (GET /v1/chat/session/active: HTTP 404; no session created)",
            output, StringComparison.Ordinal);
        Assert.Equal(1, v1.ActiveLookups);
        Assert.Empty(v1.CreatedSessions);
        Assert.Empty(v1.Messages);
    }

    [Fact]
    public async Task V1_check_create_session_runs_one_full_turn_and_closes_the_session()
    {
        await using var v1 = await FakeOsviV1Server.StartAsync();

        var (_, output) = await RunWithAsync(BridgeHost.BaseSettings(v1, redis), [], "--create-session");

        var created = Assert.Single(v1.CreatedSessions);
        Assert.Equal("osvi-bridge:check", created.CustomerId);
        Assert.Contains($"[ OK ] osvi: token accepted; agent agent_Test_0001-abc started test session {created.Id} (Chat v1, customer osvi-bridge:check), answered a test message",
            output, StringComparison.Ordinal);
        Assert.Equal(created.Id, Assert.Single(v1.Messages).SessionId);
        Assert.Equal([new FakeOsviV1Server.SupportCall(created.Id, "close")], v1.SupportCalls);
    }

    [Fact]
    public async Task V1_check_with_a_refused_token_fails_with_a_clear_line()
    {
        await using var v1 = await FakeOsviV1Server.StartAsync();

        var (code, output) = await RunWithAsync(BridgeHost.BaseSettings(v1, redis), new() { ["Osvi:ApiToken"] = "wrong-token-123456" });

        Assert.Equal(BridgeProgram.ExitFailure, code);
        Assert.Contains("[FAIL] osvi: OSVI refused the token (HTTP 401): fix Osvi:ApiToken", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task V1_check_with_an_agent_osvi_does_not_know_fails_naming_Osvi_AgentUuid()
    {
        await using var v1 = await FakeOsviV1Server.StartAsync();

        var (code, output) = await RunWithAsync(BridgeHost.BaseSettings(v1, redis), new() { ["Osvi:AgentUuid"] = "agent_Wrong_0002" });

        Assert.Equal(BridgeProgram.ExitFailure, code);
        Assert.Contains("[FAIL] osvi: OSVI does not accept agent agent_Wrong_0002 (GET /v1/chat/session/active: HTTP 422", output, StringComparison.Ordinal);
        Assert.Contains("fix Osvi:AgentUuid", output, StringComparison.Ordinal);
        Assert.Empty(v1.CreatedSessions);
    }

    [Fact]
    public async Task Legacy_check_passes_an_agent_missing_from_the_voice_only_active_agents_list_with_advice()
    {
        var (_, output) = await RunAsync(new() { ["Osvi:AgentUuid"] = "agent_Chat_only_0003" });

        Assert.Contains("[ OK ] osvi: token accepted (no session created); agent agent_Chat_only_0003 is not in the active-agents list, "
            + "which names voice agents only: run 'check --create-session' to try it for real", output, StringComparison.Ordinal);
        Assert.Empty(_osvi.StartedSessions);
    }

    [Fact]
    public async Task Slack_bot_and_app_tokens_are_checked_without_printing_them()
    {
        await using var slack = await FakeSlackServer.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Slack:BotToken"] = FakeSlackServer.BotToken,
            ["Slack:AppToken"] = FakeSlackServer.AppToken,
            ["Slack:ApiBaseUrl"] = slack.ApiBaseUrl,
        };

        var (code, output) = await RunAsync(settings);

        Assert.Equal(0, code);
        Assert.Contains("[ OK ] channels: slack", output, StringComparison.Ordinal);
        Assert.Contains("[ OK ] slack: auth.test ok: bot user UBOT in team T1; apps.connections.open ok (Socket Mode)", output, StringComparison.Ordinal);
        Assert.Equal(0, slack.SocketCount);

        slack.RejectBotToken = true;
        (code, output) = await RunAsync(settings);
        Assert.Equal(BridgeProgram.ExitFailure, code);
        Assert.Contains("[FAIL] slack: auth.test refused the bot token", output, StringComparison.Ordinal);
        Assert.DoesNotContain(FakeSlackServer.BotToken, output, StringComparison.Ordinal);
    }
}
