using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.IntegrationTests.Slack;
using Osvi.Bridge.IntegrationTests.Telegram;

namespace Osvi.Bridge.IntegrationTests.Handoff;

/// <summary>
/// Operators' posts go through the durable inbox: a bridge process killed with SIGKILL while one is at OSVI loses
/// none of them, and the restarted process delivers them to the user in the thread's order, each once.
/// </summary>
public sealed class HandoffCrashTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private const string Support = "CSUPPORT";
    private const long User = 2002;
    private readonly List<BridgeProcess> _processes = [];
    private readonly string _prefix = RedisServerFixture.NewKeyPrefix();
    private FakeOsviV1Server _osvi = null!;
    private FakeTelegramServer _telegram = null!;
    private FakeSlackServer _slack = null!;

    public async Task InitializeAsync()
    {
        _osvi = await FakeOsviV1Server.StartAsync();
        _telegram = await FakeTelegramServer.StartAsync();
        _slack = await FakeSlackServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            process.Dispose();
        }
        await _slack.DisposeAsync();
        await _telegram.DisposeAsync();
        await _osvi.DisposeAsync();
    }

    private BridgeProcess StartBridge()
    {
        var process = BridgeProcess.Start([], new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{RedisServerFixture.FreePort()}",
            ["Osvi__BaseUrl"] = _osvi.BaseUrl,
            ["Osvi__ApiToken"] = FakeOsviV1Server.Token,
            ["Osvi__AgentUuid"] = FakeOsviV1Server.Agent,
            ["Osvi__ApiVersion"] = "V1",
            ["Redis__ConnectionString"] = redis.ConnectionString,
            ["Redis__KeyPrefix"] = _prefix,
            ["Telegram__BotToken"] = FakeTelegramServer.Token,
            ["Telegram__ApiBaseUrl"] = _telegram.BaseUrl,
            ["Telegram__PollingTimeout"] = "00:00:01",
            ["Telegram__PerChatRate"] = "100",
            ["Telegram__GlobalPerSecond"] = "1000",
            ["Slack__BotToken"] = FakeSlackServer.BotToken,
            ["Slack__AppToken"] = FakeSlackServer.AppToken,
            ["Slack__ApiBaseUrl"] = _slack.ApiBaseUrl,
            ["Slack__SocketConnections"] = "1",
            ["Slack__PostBurst"] = "100",
            ["Slack__PostsPerSecondPerChannel"] = "100",
            ["Handoff__SlackChannel"] = Support,
            ["Inbox__LeaseTimeout"] = "00:00:03",
            ["Inbox__RetryDelay"] = "00:00:00.100",
            ["Inbox__MaxRetryDelay"] = "00:00:00.500",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        _processes.Add(process);
        return process;
    }

    [Fact]
    public async Task Operator_posts_survive_a_kill_9_while_one_is_at_osvi_and_reach_the_user_in_order_once()
    {
        var first = StartBridge();
        await _slack.WaitForSocketAsync(1);
        _telegram.EnqueueMessage(FakeTelegramServer.Private(User, "I need a human"));
        await _telegram.WaitForTextAsync(User, "echo: I need a human");
        await Eventually.HoldsAsync(() => _slack.VisibleMessages(Support).Count == 1, "the help request");
        var root = _slack.VisibleMessages(Support).Single();
        var mapping = _prefix + "handoff:thread:" + Support + ":" + root.Ts;
        await Eventually.HoldsAsync(() => redis.Connection!.GetDatabase().KeyExists(mapping), "the thread's mapping in Redis");

        _osvi.HoldSupport = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _slack.PostInThreadAsAsync("UOP", Support, root.Ts, "one");
        await _slack.PostInThreadAsAsync("UOP", Support, root.Ts, "two");
        await _slack.PostInThreadAsAsync("UOP", Support, root.Ts, "three");
        // All three acknowledged to Slack (so only the inbox has them), the first one's takeover at OSVI.
        await Eventually.HoldsAsync(() => _slack.Acks.Count >= 3 && !_osvi.SupportCalls.IsEmpty, "three acks and the first support call");

        first.Signal("KILL");
        await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
        _osvi.HoldSupport.SetResult();
        _osvi.HoldSupport = null;
        StartBridge();

        await _telegram.WaitForSentAsync(sent => sent.Count(m => FakeTelegramServer.ChatOf(m) == User) >= 4, "the three operator messages");
        Assert.Equal(["echo: I need a human", "one", "two", "three"], _telegram.TextsTo(User));
        Assert.Equal(["one", "two", "three"], _osvi.Sessions.Values.Single().Operator);
    }
}
