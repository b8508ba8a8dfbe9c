using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Sessions;
using StackExchange.Redis;

namespace Osvi.Bridge.IntegrationTests.Core;

/// <summary>The core relay end to end: real worker, real redis-server, fake OSVI over HTTP, a recording channel.</summary>
public sealed class RelayTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private readonly List<BridgeHost> _hosts = [];
    private FakeOsviServer _osvi = null!;

    public async Task InitializeAsync() => _osvi = await FakeOsviServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }
        await _osvi.DisposeAsync();
    }

    private async Task<(BridgeHost Host, RecordingChannel Channel)> StartBridgeAsync(
        string? keyPrefix = null, bool useRedis = true, Action<Dictionary<string, string?>>? tweak = null)
    {
        var settings = BridgeHost.BaseSettings(_osvi, useRedis ? redis : null, keyPrefix);
        tweak?.Invoke(settings);
        var channel = new RecordingChannel();
        var host = await BridgeHost.StartAsync(settings, s => s.AddSingleton<IReplySender>(channel));
        _hosts.Add(host);
        return (host, channel);
    }

    private static Task SendAsync(BridgeHost host, InboundMessage message) => SendAllAsync(host, [message]);

    /// <summary>Accepts the messages as one batch and waits until this bridge has handled each.</summary>
    private static async Task<IReadOnlyList<InboxReceipt>> SendAllAsync(BridgeHost host, IReadOnlyList<InboundMessage> messages, int timeoutSeconds = 30)
    {
        var handled = messages.Select(host.Handled.Watch).ToList();
        var receipts = await host.Inbox.AcceptManyAsync(messages, CancellationToken.None);
        await Task.WhenAll(handled).WaitAsync(TimeSpan.FromSeconds(timeoutSeconds));
        return receipts;
    }

    /// <summary>Accepts on one bridge and waits until either bridge handled it (they share the inbox).</summary>
    private static async Task SendAnywhereAsync(BridgeHost accepting, BridgeHost other, InboundMessage message)
    {
        var handled = Task.WhenAny(accepting.Handled.Watch(message), other.Handled.Watch(message));
        await accepting.Inbox.AcceptAsync(message, CancellationToken.None);
        await (await handled.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Session_is_created_once_per_conversation_and_reused()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var (host, channel) = await StartBridgeAsync(prefix);

        await SendAsync(host, RecordingChannel.Message("alice", "hello"));
        await SendAsync(host, RecordingChannel.Message("alice", "how are you?"));
        await SendAsync(host, RecordingChannel.Message("bob", "hi"));

        Assert.Equal(2, _osvi.StartedSessions.Count);
        Assert.Equal("Jane Smith", _osvi.StartedSessions.First().PersonName);
        Assert.Equal(["Hi! I'm the test agent.", "echo: hello", "echo: how are you?"], channel.RepliesTo("alice"));
        var stored = await redis.Connection!.GetDatabase().StringGetAsync(prefix + "session:test:alice");
        Assert.Equal(_osvi.Messages.First().SessionId, stored.ToString());
        var ttl = await redis.Connection!.GetDatabase().KeyTimeToLiveAsync(prefix + "session:test:alice");
        Assert.InRange(ttl!.Value, TimeSpan.FromDays(6.9), TimeSpan.FromDays(7));
    }

    [Fact]
    public async Task Session_is_reused_after_the_bridge_restarts()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var (first, _) = await StartBridgeAsync(prefix);
        await SendAsync(first, RecordingChannel.Message("carol", "before restart"));
        await first.StopAsync();

        var (second, channel) = await StartBridgeAsync(prefix);
        await SendAsync(second, RecordingChannel.Message("carol", "after restart"));

        Assert.Single(_osvi.StartedSessions);
        Assert.Equal(["echo: after restart"], channel.RepliesTo("carol"));
        Assert.All(_osvi.Messages, m => Assert.Equal(_osvi.StartedSessions.Single().Id, m.SessionId));
    }

    [Fact]
    public async Task Two_first_messages_of_a_new_conversation_accepted_at_once_start_one_session()
    {
        var (host, channel) = await StartBridgeAsync(tweak: s => s["Bridge:SendWelcomeMessage"] = "false");
        _osvi.SessionLatency = TimeSpan.FromMilliseconds(200);

        var one = RecordingChannel.Message("vic", "one");
        var two = RecordingChannel.Message("vic", "two");
        var handled = new[] { host.Handled.Watch(one), host.Handled.Watch(two) };
        await Task.WhenAll(host.Inbox.AcceptAsync(one, CancellationToken.None).AsTask(), host.Inbox.AcceptAsync(two, CancellationToken.None).AsTask());
        // No creation lock to wait out: both are answered as soon as the agent is.
        await Task.WhenAll(handled).WaitAsync(TimeSpan.FromSeconds(10));

        var session = Assert.Single(_osvi.StartedSessions).Id;
        Assert.All(_osvi.Messages, m => Assert.Equal(session, m.SessionId));
        Assert.Equal(2, channel.RepliesTo("vic").Count);
    }

    [Fact]
    public async Task Concurrent_first_messages_on_two_bridges_share_one_session()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        _osvi.SessionLatency = TimeSpan.FromMilliseconds(300);
        var (a, _) = await StartBridgeAsync(prefix);
        var (b, _) = await StartBridgeAsync(prefix);

        await Task.WhenAll(
            SendAnywhereAsync(a, b, RecordingChannel.Message("dave", "one")),
            SendAnywhereAsync(b, a, RecordingChannel.Message("dave", "two")),
            SendAnywhereAsync(a, b, RecordingChannel.Message("erin", "one")),
            SendAnywhereAsync(b, a, RecordingChannel.Message("erin", "two")));

        Assert.Equal(2, _osvi.StartedSessions.Count);
        Assert.Equal(4, _osvi.Messages.Count);
        Assert.Equal(2, _osvi.Messages.Select(m => m.SessionId).Distinct().Count());
    }

    [Fact]
    public async Task Expired_session_is_replaced_and_the_message_resent_once()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var (host, channel) = await StartBridgeAsync(prefix);
        await SendAsync(host, RecordingChannel.Message("frank", "first"));
        var oldSession = _osvi.StartedSessions.Single().Id;
        _osvi.ForgottenSessions[oldSession] = true;

        await SendAsync(host, RecordingChannel.Message("frank", "second"));

        Assert.Equal(2, _osvi.StartedSessions.Count);
        var newSession = _osvi.StartedSessions.Last().Id;
        Assert.Equal(["first", "second"], _osvi.Messages.Select(m => m.Text));
        Assert.Equal(newSession, _osvi.Messages.Last().SessionId);
        Assert.Equal("echo: second", channel.RepliesTo("frank").Last());
        Assert.DoesNotContain(channel.RepliesTo("frank"), r => r.StartsWith("Sorry", StringComparison.Ordinal));
        Assert.Equal(newSession, (await redis.Connection!.GetDatabase().StringGetAsync(prefix + "session:test:frank")).ToString());
    }

    [Fact]
    public async Task Transient_failures_are_retried_until_the_agent_answers()
    {
        var (host, channel) = await StartBridgeAsync();
        await SendAsync(host, RecordingChannel.Message("gina", "warm up"));
        var before = _osvi.SendAttempts;
        _osvi.FailNextMessages(503, 429, 500);

        await SendAsync(host, RecordingChannel.Message("gina", "are you there?"));

        Assert.Equal(4, _osvi.SendAttempts - before);
        Assert.Equal("echo: are you there?", channel.RepliesTo("gina").Last());
    }

    [Fact]
    public async Task Agent_out_of_reach_after_retries_gets_the_apology_and_the_worker_goes_on()
    {
        var (host, channel) = await StartBridgeAsync(tweak: s => s["Osvi:MaxRetries"] = "2");
        await SendAsync(host, RecordingChannel.Message("hank", "warm up"));
        _osvi.FailNextMessages(500, 502, 503);

        await SendAsync(host, RecordingChannel.Message("hank", "anyone?"));
        await SendAsync(host, RecordingChannel.Message("hank", "now?"));

        Assert.Equal(
            ["Hi! I'm the test agent.", "echo: warm up", "Sorry, I can't reach the assistant right now. Please try again in a few minutes.", "echo: now?"],
            channel.RepliesTo("hank"));
    }

    [Fact]
    public async Task Rejected_token_is_surfaced_to_the_user_and_to_readyz()
    {
        var (host, channel) = await StartBridgeAsync(tweak: s => s["Bridge:ApologyMessage"] = "Assistant unavailable.");
        await Eventually.HoldsAsync(() => host.Http.GetAsync("/readyz").Result.StatusCode == HttpStatusCode.OK, "/readyz 200 once the token is verified");
        _osvi.RejectToken = true;

        await SendAsync(host, RecordingChannel.Message("ivan", "hello"));

        Assert.Equal(["Assistant unavailable."], channel.RepliesTo("ivan"));
        var ready = await host.Http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("osvi", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync("/healthz")).StatusCode);

        _osvi.RejectToken = false;
        await SendAsync(host, RecordingChannel.Message("ivan", "again"));
        Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task Readyz_recovers_by_itself_once_osvi_accepts_the_token_again_without_a_user_message()
    {
        var (host, channel) = await StartBridgeAsync(tweak: s => s["Osvi:AuthProbeInterval"] = "00:00:00.200");
        await Eventually.HoldsAsync(() => host.Http.GetAsync("/readyz").Result.StatusCode == HttpStatusCode.OK, "/readyz 200 once the token is verified");
        _osvi.RejectToken = true;
        await SendAsync(host, RecordingChannel.Message("ivy", "hello"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await host.Http.GetAsync("/readyz")).StatusCode);
        var sentBefore = _osvi.SendAttempts;

        _osvi.RejectToken = false;

        await Eventually.HoldsAsync(() => host.Http.GetAsync("/readyz").Result.StatusCode == HttpStatusCode.OK, "/readyz 200 after the probe");
        Assert.Equal(sentBefore, _osvi.SendAttempts);
        Assert.Single(channel.RepliesTo("ivy"));
    }

    [Fact]
    public async Task While_osvi_refuses_a_conversation_gets_the_apology_once_per_cooldown_and_again_after_the_agent_answered()
    {
        var (host, channel) = await StartBridgeAsync(tweak: s => s["Bridge:ApologyMessage"] = "Assistant unavailable.");
        _osvi.RejectToken = true;

        await SendAsync(host, RecordingChannel.Message("liz", "one"));
        await SendAsync(host, RecordingChannel.Message("liz", "two"));
        await SendAsync(host, RecordingChannel.Message("liz", "three"));
        await SendAsync(host, RecordingChannel.Message("moe", "hello"));

        Assert.Equal(["Assistant unavailable."], channel.RepliesTo("liz"));
        Assert.Equal(["Assistant unavailable."], channel.RepliesTo("moe"));

        _osvi.RejectToken = false;
        await SendAsync(host, RecordingChannel.Message("liz", "back?"));
        _osvi.RejectToken = true;
        await SendAsync(host, RecordingChannel.Message("liz", "gone again"));

        Assert.Equal(["Assistant unavailable.", "Hi! I'm the test agent.", "echo: back?", "Assistant unavailable."], channel.RepliesTo("liz"));
    }

    [Fact]
    public async Task A_zero_apology_cooldown_apologises_for_every_failed_message()
    {
        var (host, channel) = await StartBridgeAsync(tweak: s =>
        {
            s["Bridge:ApologyMessage"] = "Assistant unavailable.";
            s["Bridge:ApologyCooldown"] = "00:00:00";
        });
        _osvi.RejectToken = true;

        await SendAsync(host, RecordingChannel.Message("ned", "one"));
        await SendAsync(host, RecordingChannel.Message("ned", "two"));

        Assert.Equal(["Assistant unavailable.", "Assistant unavailable."], channel.RepliesTo("ned"));
    }

    [Fact]
    public async Task Replies_in_order_within_one_conversation_under_agent_latency()
    {
        // One answer per message is what this pins: merging queued follow-ups is off.
        var (host, channel) = await StartBridgeAsync(tweak: s => s["Bridge:MergeQueuedMessages"] = "false");
        await SendAsync(host, RecordingChannel.Message("jill", "warm up"));
        var random = new Random(7);
        _osvi.Reply = (_, text) =>
        {
            Thread.Sleep(random.Next(0, 30));
            return "echo: " + text;
        };

        var messages = Enumerable.Range(0, 20).Select(i => RecordingChannel.Message("jill", $"m{i}")).ToList();
        var handled = messages.Select(host.Handled.Watch).ToList();
        foreach (var message in messages)
        {
            await host.Inbox.AcceptAsync(message, CancellationToken.None);
        }
        await Task.WhenAll(handled).WaitAsync(TimeSpan.FromSeconds(30));

        var expected = Enumerable.Range(0, 20).Select(i => $"echo: m{i}").ToList();
        Assert.Equal(expected, channel.RepliesTo("jill").Skip(2));
        Assert.Equal(1, _osvi.PeakConcurrentMessages);
    }

    [Fact]
    public async Task Conversations_are_handled_concurrently_under_a_slow_agent()
    {
        var (host, channel) = await StartBridgeAsync(useRedis: true);
        _osvi.Latency = TimeSpan.FromSeconds(1);

        await SendAllAsync(host, Enumerable.Range(0, 100).Select(i => RecordingChannel.Message($"crowd-{i}", "hello")).ToList(), 60);

        Assert.Equal(100, _osvi.Messages.Count);
        // One at a time would peak at 1; a bridge that overlaps the slow calls peaks near 100.
        Assert.True(_osvi.PeakConcurrentMessages >= 50, $"peak concurrency was {_osvi.PeakConcurrentMessages}");
        Assert.Equal(100, channel.Replies.Count(r => r.Text == "echo: hello"));
    }

    [Fact]
    public async Task Concurrency_is_bounded_by_MaxConcurrency()
    {
        var (host, _) = await StartBridgeAsync(tweak: s => s["Bridge:MaxConcurrency"] = "3");
        _osvi.Latency = TimeSpan.FromMilliseconds(100);

        await SendAllAsync(host, Enumerable.Range(0, 12).Select(i => RecordingChannel.Message($"bounded-{i}", "hello")).ToList(), 60);

        Assert.InRange(_osvi.PeakConcurrentMessages, 1, 3);
        Assert.Equal(12, _osvi.Messages.Count);
    }

    [Fact]
    public async Task A_duplicate_message_id_is_processed_once_also_across_bridges()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var (a, channel) = await StartBridgeAsync(prefix);
        var (b, _) = await StartBridgeAsync(prefix);
        var message = RecordingChannel.Message("kate", "only once", id: "update-1");

        // The same event three times (a platform's redeliveries), to either bridge; the inbox keeps each
        // and drops the repeats when their turn comes, in whichever replica works on the conversation.
        await a.Inbox.AcceptAsync(message, CancellationToken.None);
        await a.Inbox.AcceptAsync(message, CancellationToken.None);
        await b.Inbox.AcceptAsync(message, CancellationToken.None);
        var marker = RecordingChannel.Message("kate", "after");
        await SendAnywhereAsync(a, b, marker);

        Assert.Equal(["only once", "after"], _osvi.Messages.Select(m => m.Text));
        Assert.Equal(["Hi! I'm the test agent.", "echo: only once", "echo: after"], channel.RepliesTo("kate"));
        Assert.True(await redis.Connection!.GetDatabase().KeyExistsAsync(prefix + "seen:test:kate:update-1"));
    }

    [Fact]
    public async Task Graceful_shutdown_finishes_accepted_work_and_refuses_new_messages()
    {
        // One answer per message is what this pins: merging queued follow-ups is off.
        var (host, channel) = await StartBridgeAsync(tweak: s => s["Bridge:MergeQueuedMessages"] = "false");
        _osvi.Latency = TimeSpan.FromMilliseconds(500);
        var handled = new List<Task<global::Osvi.Bridge.Dispatching.DeliveryResult>>();
        for (var i = 0; i < 5; i++)
        {
            foreach (var message in new[] { RecordingChannel.Message("leo", $"m{i}"), RecordingChannel.Message($"leo-{i}", "hi") })
            {
                handled.Add(host.Handled.Watch(message));
                await host.Inbox.AcceptAsync(message, CancellationToken.None);
            }
        }

        var inbox = host.Inbox;
        await host.StopAsync();

        Assert.All(handled, h => Assert.Equal(global::Osvi.Bridge.Dispatching.DeliveryResult.Finished, h.Result));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"echo: m{i}"), channel.RepliesTo("leo").Skip(1));
        Assert.Equal(10, _osvi.Messages.Count);
        await Assert.ThrowsAsync<InboxClosedException>(async () =>
            await inbox.AcceptAsync(RecordingChannel.Message("leo", "too late"), CancellationToken.None));
    }

    [Fact]
    public async Task Reset_closes_the_session_and_the_next_message_starts_a_new_one()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var (host, channel) = await StartBridgeAsync(prefix);
        await SendAsync(host, RecordingChannel.Message("mia", "hello"));
        var first = _osvi.StartedSessions.Single().Id;

        await SendAsync(host, RecordingChannel.Message("mia", "/reset"));
        Assert.Equal([first], _osvi.ClosedSessions);
        Assert.False(await redis.Connection!.GetDatabase().KeyExistsAsync(prefix + "session:test:mia"));

        await SendAsync(host, RecordingChannel.Message("mia", "/new@SomeBot"));
        await SendAsync(host, RecordingChannel.Message("mia", "hello again"));

        Assert.Equal(2, _osvi.StartedSessions.Count);
        Assert.Equal(
            ["Hi! I'm the test agent.", "echo: hello", "Started a new conversation. What can I help you with?",
             "Started a new conversation. What can I help you with?", "Hi! I'm the test agent.", "echo: hello again"],
            channel.RepliesTo("mia"));
    }

    [Fact]
    public async Task Start_posts_the_welcome_once_and_help_explains_the_commands()
    {
        var (host, channel) = await StartBridgeAsync();

        await SendAsync(host, RecordingChannel.Message("nina", "/start"));
        await SendAsync(host, RecordingChannel.Message("nina", "/start"));
        await SendAsync(host, RecordingChannel.Message("nina", "/help"));

        var replies = channel.RepliesTo("nina");
        Assert.Equal("Hi! I'm the test agent.", replies[0]);
        Assert.StartsWith("We're already chatting", replies[1], StringComparison.Ordinal);
        Assert.Contains("/reset", replies[2], StringComparison.Ordinal);
        Assert.Empty(_osvi.Messages);
        Assert.Single(_osvi.StartedSessions);
    }

    [Fact]
    public async Task Welcome_message_can_be_turned_off_and_empty_answers_send_nothing()
    {
        var (host, channel) = await StartBridgeAsync(tweak: s => s["Bridge:SendWelcomeMessage"] = "false");
        _osvi.Reply = (_, text) => text == "silence" ? "" : "echo: " + text;

        await SendAsync(host, RecordingChannel.Message("omar", "silence"));
        await SendAsync(host, RecordingChannel.Message("omar", "speak"));

        Assert.Equal(["echo: speak"], channel.RepliesTo("omar"));
        Assert.Equal(2, channel.ProgressShown);
    }

    [Fact]
    public async Task A_redis_error_while_handling_is_retried_and_the_message_answered()
    {
        var settings = BridgeHost.BaseSettings(_osvi, redis);
        settings["Inbox:RetryDelay"] = "00:00:00.050";
        var channel = new RecordingChannel();
        var sessions = new FlakySessions();
        var host = await BridgeHost.StartAsync(settings, s =>
        {
            s.AddSingleton<IReplySender>(channel);
            s.AddSingleton<ISessionStore>(sp => sessions.Wrap(ActivatorUtilities.CreateInstance<RedisSessionStore>(sp)));
        });
        _hosts.Add(host);
        sessions.FailNext = 2;

        await SendAsync(host, RecordingChannel.Message("una", "one"));

        Assert.True(sessions.FailNext < 0, "the store was read again after its failures");
        Assert.Equal(["Hi! I'm the test agent.", "echo: one"], channel.RepliesTo("una"));
        Assert.Single(_osvi.Messages);
    }

    /// <summary>A real Redis store whose next reads fail, as while Redis fails over.</summary>
    private sealed class FlakySessions
    {
        private int _failNext;

        public int FailNext { get => Volatile.Read(ref _failNext); set => Volatile.Write(ref _failNext, value); }

        public ISessionStore Wrap(ISessionStore inner) => new Store(this, inner);

        private sealed class Store(FlakySessions owner, ISessionStore inner) : ISessionStore
        {
            public Task<string?> GetAsync(ConversationKey conversation, CancellationToken cancellationToken) =>
                Interlocked.Decrement(ref owner._failNext) >= 0
                    ? throw new RedisConnectionException(ConnectionFailureType.SocketFailure, "No connection is available (test)")
                    : inner.GetAsync(conversation, cancellationToken);

            public Task<string> AddAsync(ConversationKey conversation, string sessionId, CancellationToken cancellationToken) =>
                inner.AddAsync(conversation, sessionId, cancellationToken);

            public Task SetAsync(ConversationKey conversation, string sessionId, CancellationToken cancellationToken) =>
                inner.SetAsync(conversation, sessionId, cancellationToken);

            public Task<string?> RemoveAsync(ConversationKey conversation, CancellationToken cancellationToken) => inner.RemoveAsync(conversation, cancellationToken);
        }
    }

    [Fact]
    public async Task Without_redis_the_in_memory_store_keeps_sessions_for_the_process()
    {
        var (host, channel) = await StartBridgeAsync(useRedis: false);

        await SendAsync(host, RecordingChannel.Message("pia", "one"));
        await SendAsync(host, RecordingChannel.Message("pia", "two"));
        var receipts = await SendAllAsync(host, [RecordingChannel.Message("pia", "one", id: "same")]);
        var again = await host.Inbox.AcceptAsync(RecordingChannel.Message("pia", "one", id: "same"), CancellationToken.None);

        Assert.Single(_osvi.StartedSessions);
        Assert.Equal(InboxOutcome.Duplicate, again.Outcome);
        Assert.Equal(["Hi! I'm the test agent.", "echo: one", "echo: two", "echo: one"], channel.RepliesTo("pia"));
        Assert.Null(host.Services.GetService<IConnectionMultiplexer>());
    }

    [Fact]
    public async Task Metrics_are_served_in_prometheus_format()
    {
        var (host, _) = await StartBridgeAsync();
        await SendAsync(host, RecordingChannel.Message("quinn", "count me"));

        var text = await host.Http.GetStringAsync("/metrics");

        Assert.Contains("osvi_bridge_messages_received_total{", text, StringComparison.Ordinal);
        Assert.Contains("platform=\"test\"", text, StringComparison.Ordinal);
        Assert.Contains("osvi_bridge_messages_answered_total", text, StringComparison.Ordinal);
        Assert.Contains("osvi_bridge_agent_latency_seconds_bucket", text, StringComparison.Ordinal);
        Assert.Contains("osvi_bridge_message_duration_seconds_bucket", text, StringComparison.Ordinal);
        Assert.Contains("osvi_bridge_sessions_created_total", text, StringComparison.Ordinal);
        Assert.Contains("osvi_bridge_dispatcher_queue_depth", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_message_behind_a_reset_in_the_same_batch_goes_to_the_new_session()
    {
        var (host, channel) = await StartBridgeAsync();
        await SendAsync(host, RecordingChannel.Message("sol", "one"));
        var first = _osvi.StartedSessions.Single().Id;

        // The session read made while accepting must not carry the old session past the reset.
        await SendAllAsync(host, [RecordingChannel.Message("sol", "/reset"), RecordingChannel.Message("sol", "two")]);

        Assert.Equal([first], _osvi.ClosedSessions);
        var second = Assert.Single(_osvi.StartedSessions, s => s.Id != first).Id;
        Assert.Equal(second, _osvi.Messages.Single(m => m.Text == "two").SessionId);
        Assert.Equal(["Hi! I'm the test agent.", "echo: one", "Started a new conversation. What can I help you with?", "Hi! I'm the test agent.", "echo: two"],
            channel.RepliesTo("sol"));
    }

    [Fact]
    public async Task A_message_accepted_while_its_conversation_is_busy_uses_the_session_its_predecessor_started()
    {
        var (host, channel) = await StartBridgeAsync();
        _osvi.SessionLatency = TimeSpan.FromMilliseconds(200);

        await SendAllAsync(host, [RecordingChannel.Message("tao", "one"), RecordingChannel.Message("tao", "two")]);

        var session = Assert.Single(_osvi.StartedSessions).Id;
        Assert.All(_osvi.Messages.Where(m => m.Text is "one" or "two"), m => Assert.Equal(session, m.SessionId));
        Assert.Equal(["Hi! I'm the test agent.", "echo: one", "echo: two"], channel.RepliesTo("tao"));
    }

    [Fact]
    public async Task A_batch_is_accepted_in_order_with_repeats_and_seen_ids_dropped()
    {
        // One answer per message is what this pins: merging queued follow-ups is off.
        var (host, channel) = await StartBridgeAsync(tweak: s => s["Bridge:MergeQueuedMessages"] = "false");
        await SendAsync(host, RecordingChannel.Message("rita", "seen", id: "b-0"));

        await SendAllAsync(host,
        [
            RecordingChannel.Message("rita", "one", id: "b-1"),
            RecordingChannel.Message("rita", "two", id: "b-2"),
            RecordingChannel.Message("rita", "one again", id: "b-1"),
            RecordingChannel.Message("rita", "seen again", id: "b-0"),
            RecordingChannel.Message("rita", "three", id: "b-3"),
        ]);
        Assert.Equal(["Hi! I'm the test agent.", "echo: seen", "echo: one", "echo: two", "echo: three"], channel.RepliesTo("rita"));
    }
}
