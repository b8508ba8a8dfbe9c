using System.Globalization;
using System.Text.Json.Nodes;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.IntegrationTests.Telegram;
using StackExchange.Redis;

namespace Osvi.Bridge.IntegrationTests.Core;

/// <summary>
/// Real bridge processes killed with SIGKILL (no graceful stop) on a real redis-server, driven over HTTP
/// by the Telegram and OSVI stand-ins: what was accepted is answered, once, by a restart or by another replica.
/// </summary>
public sealed class CrashRecoveryTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private const string Welcome = "Hi! I'm the test agent.";
    private readonly List<BridgeProcess> _processes = [];
    private readonly string _prefix = RedisServerFixture.NewKeyPrefix();
    private FakeOsviServer _osvi = null!;
    private FakeTelegramServer _telegram = null!;

    public async Task InitializeAsync()
    {
        _osvi = await FakeOsviServer.StartAsync();
        _telegram = await FakeTelegramServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            process.Dispose();
        }
        await _telegram.DisposeAsync();
        await _osvi.DisposeAsync();
    }

    private BridgeProcess StartBridge()
    {
        var process = BridgeProcess.Start([], new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{RedisServerFixture.FreePort()}",
            ["Osvi__BaseUrl"] = _osvi.BaseUrl,
            ["Osvi__ApiToken"] = FakeOsviServer.Token,
            ["Osvi__AgentUuid"] = FakeOsviServer.Agent,
            ["Redis__ConnectionString"] = redis.ConnectionString,
            ["Redis__KeyPrefix"] = _prefix,
            ["Telegram__BotToken"] = FakeTelegramServer.Token,
            ["Telegram__ApiBaseUrl"] = _telegram.BaseUrl,
            ["Telegram__PollingTimeout"] = "00:00:01",
            ["Telegram__SendRetryDelay"] = "00:00:00.010",
            ["Telegram__PerChatRate"] = "100",
            ["Telegram__GlobalPerSecond"] = "1000",
            ["Inbox__LeaseTimeout"] = "00:00:03",
            ["Inbox__RetryDelay"] = "00:00:00.100",
            ["Inbox__MaxRetryDelay"] = "00:00:00.500",
            ["Inbox__MaxAttempts"] = "1000",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        _processes.Add(process);
        return process;
    }

    private IDatabase Database => redis.Connection!.GetDatabase();

    /// <summary>The pid in a lease owner (<c>host-pid-random</c>), so a test can kill the holder.</summary>
    private static int PidOf(string owner) => int.Parse(owner.Split('-')[^2], CultureInfo.InvariantCulture);

    private async Task<string?> PollerOwnerAsync() =>
        (await Database.StringGetAsync(_prefix + "lease:telegram-poller:" + FakeTelegramServer.BotId)).ToString() is { Length: > 0 } owner ? owner : null;

    private IReadOnlyList<long> EnqueueChats(int count, long firstUser)
    {
        var chats = new List<long>();
        for (var i = 0; i < count; i++)
        {
            var user = firstUser + i;
            _telegram.EnqueueMessage(FakeTelegramServer.Private(user, $"question {user}"));
            chats.Add(user);
        }
        return chats;
    }

    [Fact]
    public async Task Killed_while_its_messages_are_with_the_agent_the_bridge_answers_each_once_after_a_restart()
    {
        _osvi.Latency = TimeSpan.FromSeconds(30);
        var first = StartBridge();
        var chats = EnqueueChats(30, 7_000);
        // Every message accepted, confirmed to Telegram and at the agent, none answered yet.
        await Eventually.HoldsAsync(() => _osvi.SendAttempts == 30, "all 30 at the agent");

        first.Signal("KILL");
        await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
        _osvi.Latency = TimeSpan.Zero;
        StartBridge();

        await _telegram.WaitForSentAsync(sent => chats.All(c => sent.Any(m => FakeTelegramServer.ChatOf(m) == c && m["text"]?.ToString() == $"echo: question {c}")),
            "every chat answered");
        foreach (var chat in chats)
        {
            // The welcome went out before the crash and is not repeated; the answer comes once.
            Assert.Equal([Welcome, $"echo: question {chat}"], _telegram.TextsTo(chat));
        }
        Assert.Equal(30, _osvi.StartedSessions.Count);
    }

    [Fact]
    public async Task Killed_during_a_merged_turn_the_bridge_answers_the_follow_ups_once_as_one_turn_after_a_restart()
    {
        _osvi.WelcomeMessage = null;
        _osvi.HoldAnswers();
        var first = StartBridge();
        const long chat = 7_500;
        _telegram.EnqueueMessage(FakeTelegramServer.Private(chat, "first"));
        await Eventually.HoldsAsync(() => _osvi.Held == 1, "the first message at the agent");
        _telegram.EnqueueMessage(FakeTelegramServer.Private(chat, "second"));
        _telegram.EnqueueMessage(FakeTelegramServer.Private(chat, "third"));
        // Both follow-ups read by the replica (pending in the partition's group) while the agent thinks.
        var stream = _prefix + "inbox:{p" + global::Osvi.Bridge.Dispatching.RedisStreamInbox.PartitionOf(
            global::Osvi.Bridge.Messaging.ConversationKey.Create("telegram", FakeTelegramServer.BotId.ToString(CultureInfo.InvariantCulture),
                chat.ToString(CultureInfo.InvariantCulture)), 16) + "}:stream";
        await Eventually.HoldsAsync(() => Database.StreamPending(stream, "bridge").PendingMessageCount == 3, "the follow-ups read");

        // The first answer goes out; the merged turn is then held at the agent when the process dies.
        _osvi.ReleaseAnswers();
        _osvi.HoldAnswers();
        await Eventually.HoldsAsync(() => _osvi.Messages.Count == 1 && _osvi.Held == 1, "the merged turn at the agent");
        first.Signal("KILL");
        await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
        _osvi.ReleaseAnswers();
        StartBridge();

        await _telegram.WaitForSentAsync(sent => sent.Count(m => FakeTelegramServer.ChatOf(m) == chat) == 2, "the merged answer after the restart");
        await Eventually.HoldsAsync(() => Database.StreamLength(stream) == 0, "every entry left the inbox");
        Assert.Equal(["echo: first", "echo: second\nthird"], _telegram.TextsTo(chat));
        Assert.Equal(["first", "second\nthird"], _osvi.Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task A_killed_replicas_stored_answers_and_the_telegram_poller_are_taken_over_by_the_other_replica()
    {
        var a = StartBridge();
        var b = StartBridge();
        await Eventually.HoldsAsync(() => PollerOwnerAsync().Result is not null, "a replica polls");
        var owners = Enumerable.Range(0, 16).Select(p => Database.StringGet($"{_prefix}inbox:{{p{p}}}:lease").ToString()).ToList();
        await Eventually.HoldsAsync(() =>
        {
            owners = Enumerable.Range(0, 16).Select(p => Database.StringGet($"{_prefix}inbox:{{p{p}}}:lease").ToString()).ToList();
            return owners.All(o => o.Length > 0) && owners.Distinct().Count() == 2;
        }, "both replicas hold partitions");

        // Telegram takes welcomes but not answers: every answer is stored, none delivered.
        _telegram.SendMessageRule = body => body["text"]?.ToString()?.StartsWith("echo", StringComparison.Ordinal) == true
            ? new FakeTelegramServer.ScriptedError(502, "Bad Gateway") : null;
        var chats = EnqueueChats(20, 8_000);
        await Eventually.HoldsAsync(() => _osvi.Messages.Count == 20, "all 20 answered by the agent");
        // An answer is in Redis once its delivery failed (a record already holds the welcome before the
        // agent is asked): wait until all 20 records hold the answer, not just for the agent's answers.
        await Eventually.HoldsAsync(() => redis.Connection!.GetServers()[0].Keys(pattern: _prefix + "inbox:*:record:*")
                .Count(key => Database.StringGet(key).ToString().Contains("echo: question", StringComparison.Ordinal)) == 20,
            "all 20 answers stored");

        var poller = PidOf((await PollerOwnerAsync())!);
        var (killed, survivor) = poller == a.Id ? (a, b) : (b, a);
        killed.Signal("KILL");
        await killed.WaitForExitAsync(TimeSpan.FromSeconds(10));
        _telegram.SendMessageRule = null;

        await _telegram.WaitForSentAsync(sent => chats.All(c => sent.Any(m => FakeTelegramServer.ChatOf(m) == c && m["text"]?.ToString() == $"echo: question {c}")),
            "every stored answer delivered");
        foreach (var chat in chats)
        {
            Assert.Equal([Welcome, $"echo: question {chat}"], _telegram.TextsTo(chat));
        }
        // The stored answers were delivered, not asked for again.
        Assert.Equal(20, _osvi.Messages.Count);

        // The survivor took the poller lease over and answers new messages.
        await Eventually.HoldsAsync(() => PollerOwnerAsync().Result is { } owner && PidOf(owner) == survivor.Id, "the survivor polls");
        _telegram.EnqueueMessage(FakeTelegramServer.Private(9_999, "still there?"));
        await _telegram.WaitForTextAsync(9_999, "echo: still there?");
        Assert.False(survivor.HasExited);
    }
}
