using Microsoft.Extensions.DependencyInjection;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Osvi;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.IntegrationTests.Core;

/// <summary>The relay speaking OSVI Chat v1 (<c>Osvi:ApiVersion=V1</c>): real worker, real redis-server, the v1 stand-in over HTTP.</summary>
public sealed class ChatV1Tests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private readonly List<BridgeHost> _hosts = [];
    private FakeOsviV1Server _osvi = null!;

    public async Task InitializeAsync() => _osvi = await FakeOsviV1Server.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }
        await _osvi.DisposeAsync();
    }

    private async Task<(BridgeHost Host, RecordingChannel Channel)> StartBridgeAsync(string? keyPrefix = null, Action<Dictionary<string, string?>>? tweak = null)
    {
        var settings = BridgeHost.BaseSettings(_osvi, redis, keyPrefix);
        tweak?.Invoke(settings);
        var channel = new RecordingChannel();
        var host = await BridgeHost.StartAsync(settings, s => s.AddSingleton<IReplySender>(channel));
        _hosts.Add(host);
        return (host, channel);
    }

    private static async Task SendAsync(BridgeHost host, InboundMessage message)
    {
        await host.HandleAsync(message, TimeSpan.FromSeconds(30));
    }

    private Task<string> StoredSessionAsync(string prefix, string chat) =>
        redis.Connection!.GetDatabase().StringGetAsync(prefix + "session:test:" + chat).ContinueWith(t => t.Result.ToString(), TaskScheduler.Default);

    [Fact]
    public async Task V1_first_message_creates_the_conversations_session_and_answers_with_data_reply()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var (host, channel) = await StartBridgeAsync(prefix);

        await SendAsync(host, RecordingChannel.Message("alice", "hello"));
        await SendAsync(host, RecordingChannel.Message("alice", "how are you?"));

        var created = Assert.Single(_osvi.CreatedSessions);
        Assert.Equal("osvi-bridge:test:alice", created.CustomerId);
        Assert.Equal("Jane Smith", created.PersonName);
        // v1 has no welcome message: the first answer is the agent's reply alone.
        Assert.Equal(["echo: hello", "echo: how are you?"], channel.RepliesTo("alice"));
        Assert.All(_osvi.Messages, m => Assert.Equal((created.Id, "osvi-bridge:test:alice"), (m.SessionId, m.CustomerId)));
        Assert.Equal(created.Id, await StoredSessionAsync(prefix, "alice"));
        Assert.IsType<V1AgentConversation>(host.Services.GetRequiredService<IAgentConversation>());
    }

    [Fact]
    public async Task V1_group_conversations_keep_one_customer_and_one_session_each()
    {
        var (host, _) = await StartBridgeAsync();

        await SendAsync(host, RecordingChannel.Message("group-1", "one") with { UserId = "u1", DisplayName = "Ann" });
        await SendAsync(host, RecordingChannel.Message("group-1", "two") with { UserId = "u2", DisplayName = "Ben" });
        await SendAsync(host, RecordingChannel.Message("group-2", "three"));

        Assert.Equal(["osvi-bridge:test:group-1", "osvi-bridge:test:group-2"], _osvi.CreatedSessions.Select(s => s.CustomerId));
        Assert.Equal(2, _osvi.Messages.Count(m => m.CustomerId == "osvi-bridge:test:group-1"));
        Assert.Single(_osvi.Messages.Select(m => m.SessionId).Where(id => id == _osvi.CreatedSessions.First().Id).Distinct());
    }

    [Fact]
    public async Task V1_session_is_continued_after_a_restart_from_redis()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var (first, _) = await StartBridgeAsync(prefix);
        await SendAsync(first, RecordingChannel.Message("carol", "before restart"));
        await first.StopAsync();
        var lookups = _osvi.LookupsOf("osvi-bridge:test:carol");

        var (second, channel) = await StartBridgeAsync(prefix);
        await SendAsync(second, RecordingChannel.Message("carol", "after restart"));

        Assert.Single(_osvi.CreatedSessions);
        Assert.Equal(lookups, _osvi.LookupsOf("osvi-bridge:test:carol"));
        Assert.Equal(["echo: after restart"], channel.RepliesTo("carol"));
        Assert.All(_osvi.Messages, m => Assert.Equal(_osvi.CreatedSessions.Single().Id, m.SessionId));
    }

    [Fact]
    public async Task V1_a_lost_mapping_continues_the_session_OSVI_still_holds_open()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var (host, channel) = await StartBridgeAsync(prefix);
        await SendAsync(host, RecordingChannel.Message("dora", "one"));
        var session = _osvi.CreatedSessions.Single().Id;
        await redis.Connection!.GetDatabase().KeyDeleteAsync(prefix + "session:test:dora");

        await SendAsync(host, RecordingChannel.Message("dora", "two"));

        Assert.Single(_osvi.CreatedSessions);
        Assert.Equal([session, session], _osvi.Messages.Select(m => m.SessionId));
        Assert.Equal(session, await StoredSessionAsync(prefix, "dora"));
        Assert.Equal(["echo: one", "echo: two"], channel.RepliesTo("dora"));
    }

    public static TheoryData<string> GoneSessions => new() { "unknown-404", "unknown-422", "closed" };

    [Theory]
    [MemberData(nameof(GoneSessions))]
    public async Task V1_a_session_OSVI_no_longer_has_is_replaced_and_the_message_resent_once(string how)
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var (host, channel) = await StartBridgeAsync(prefix);
        await SendAsync(host, RecordingChannel.Message("frank", "first"));
        var old = _osvi.CreatedSessions.Single().Id;
        switch (how)
        {
            case "unknown-404":
                _osvi.Forget(old);
                break;
            case "unknown-422":
                _osvi.UnknownSessionStatus = 422;
                _osvi.Forget(old);
                break;
            default:
                _osvi.CloseBehindTheBridge(old);
                break;
        }

        await SendAsync(host, RecordingChannel.Message("frank", "second"));

        Assert.Equal(2, _osvi.CreatedSessions.Count);
        var replacement = _osvi.CreatedSessions.Last().Id;
        Assert.Equal(["first", "second"], _osvi.Messages.Select(m => m.Content));
        Assert.Equal(replacement, _osvi.Messages.Last().SessionId);
        Assert.Equal(["echo: first", "echo: second"], channel.RepliesTo("frank"));
        Assert.Equal(replacement, await StoredSessionAsync(prefix, "frank"));
    }

    [Fact]
    public async Task V1_an_answer_from_another_session_moves_the_conversation_there()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var (host, channel) = await StartBridgeAsync(prefix);
        await SendAsync(host, RecordingChannel.Message("gus", "first"));
        var old = _osvi.CreatedSessions.Single().Id;
        _osvi.MovesClosedSessionsOn = true;
        _osvi.CloseBehindTheBridge(old);

        await SendAsync(host, RecordingChannel.Message("gus", "second"));
        await SendAsync(host, RecordingChannel.Message("gus", "third"));

        var moved = _osvi.ActiveSessionOf("osvi-bridge:test:gus")!.Id;
        Assert.NotEqual(old, moved);
        Assert.Single(_osvi.CreatedSessions);
        Assert.Equal([old, moved, moved], _osvi.Messages.Select(m => m.SessionId));
        Assert.Equal([old, old, moved], _osvi.Messages.Select(m => m.NamedSessionId));
        Assert.Equal(moved, await StoredSessionAsync(prefix, "gus"));
        Assert.Equal(["echo: first", "echo: second", "echo: third"], channel.RepliesTo("gus"));
    }

    [Fact]
    public async Task V1_reset_closes_the_session_with_the_support_command_and_the_next_message_starts_a_new_one()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var (host, channel) = await StartBridgeAsync(prefix);
        await SendAsync(host, RecordingChannel.Message("mia", "hello"));
        var first = _osvi.CreatedSessions.Single().Id;

        await SendAsync(host, RecordingChannel.Message("mia", "/reset"));

        Assert.Equal([new FakeOsviV1Server.SupportCall(first, "close")], _osvi.SupportCalls);
        Assert.Equal("closed", _osvi.Sessions[first].Status);
        Assert.False(await redis.Connection!.GetDatabase().KeyExistsAsync(prefix + "session:test:mia"));

        await SendAsync(host, RecordingChannel.Message("mia", "hello again"));

        Assert.Equal(2, _osvi.CreatedSessions.Count);
        Assert.NotEqual(first, _osvi.Messages.Last().SessionId);
        Assert.Equal(["echo: hello", "Started a new conversation. What can I help you with?", "echo: hello again"], channel.RepliesTo("mia"));
    }

    [Fact]
    public async Task V1_reset_without_a_stored_mapping_closes_the_session_OSVI_holds_open()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var (host, _) = await StartBridgeAsync(prefix);
        await SendAsync(host, RecordingChannel.Message("ned", "hello"));
        var first = _osvi.CreatedSessions.Single().Id;
        await redis.Connection!.GetDatabase().KeyDeleteAsync(prefix + "session:test:ned");

        await SendAsync(host, RecordingChannel.Message("ned", "/reset"));
        await SendAsync(host, RecordingChannel.Message("ned", "again"));

        Assert.Equal([new FakeOsviV1Server.SupportCall(first, "close")], _osvi.SupportCalls);
        Assert.NotEqual(first, _osvi.Messages.Last().SessionId);
    }

    [Fact]
    public async Task V1_start_works_without_a_welcome_message()
    {
        var (host, channel) = await StartBridgeAsync();

        await SendAsync(host, RecordingChannel.Message("nina", "/start"));
        await SendAsync(host, RecordingChannel.Message("nina", "/start"));
        await SendAsync(host, RecordingChannel.Message("nina", "hi"));

        var replies = channel.RepliesTo("nina");
        Assert.Contains("/reset", replies[0], StringComparison.Ordinal);
        Assert.StartsWith("We're already chatting", replies[1], StringComparison.Ordinal);
        Assert.Equal("echo: hi", replies[2]);
        Assert.Single(_osvi.CreatedSessions);
        Assert.Equal(["hi"], _osvi.Messages.Select(m => m.Content));
    }

    [Fact]
    public async Task V1_support_mode_with_an_empty_reply_sends_nothing_and_is_not_a_failure()
    {
        var (host, channel) = await StartBridgeAsync();
        using var failed = new InstrumentCounter(host.Services.GetRequiredService<BridgeMetrics>().Meter, "osvi_bridge.messages.failed");
        await SendAsync(host, RecordingChannel.Message("omar", "hello"));
        _osvi.TakeOver(_osvi.CreatedSessions.Single().Id);

        await SendAsync(host, RecordingChannel.Message("omar", "is anyone there?"));

        Assert.Equal(["hello", "is anyone there?"], _osvi.Messages.Select(m => m.Content));
        Assert.Equal(["echo: hello"], channel.RepliesTo("omar"));
        Assert.Equal(0, failed.Total);
    }

    [Fact]
    public async Task V1_help_requested_is_on_the_turn_and_counted()
    {
        var (host, channel) = await StartBridgeAsync();
        var agent = host.Services.GetRequiredService<IAgentConversation>();
        using var counted = new InstrumentCounter(host.Services.GetRequiredService<BridgeMetrics>().Meter, "osvi_bridge.help_requested");
        var conversation = ConversationKey.Create(RecordingChannel.Name, "pat");

        var session = await agent.StartSessionAsync(conversation, "Pat", CancellationToken.None);
        var calm = await agent.SendAsync(session.SessionId, conversation, "hello", CancellationToken.None);
        var help = await agent.SendAsync(session.SessionId, conversation, "I want a human", CancellationToken.None);
        await SendAsync(host, RecordingChannel.Message("quin", "a human, please"));

        Assert.Null(session.WelcomeMessage);
        Assert.Equal((false, "ai", "echo: hello"), (calm.HelpRequested, calm.Mode, calm.Text));
        Assert.Equal((true, "ai", "echo: I want a human"), (help.HelpRequested, help.Mode, help.Text));
        Assert.Equal(["echo: a human, please"], channel.RepliesTo("quin"));
        // Counted once per turn that came back with it: the direct one and the relayed one.
        Assert.Equal(2, counted.Total);
        Assert.Contains("osvi_bridge_help_requested_total", await host.Http.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task V1_errors_map_like_legacy_and_only_safe_failures_are_retried()
    {
        var (host, _) = await StartBridgeAsync();
        var agent = host.Services.GetRequiredService<IAgentConversation>();
        var conversation = ConversationKey.Create(RecordingChannel.Name, "rex");
        var session = await agent.StartSessionAsync(conversation, "Rex", CancellationToken.None);

        _osvi.FailNextInbound(422);
        await Assert.ThrowsAsync<OsviValidationException>(() => agent.SendAsync(session.SessionId, conversation, "a", CancellationToken.None));
        _osvi.FailNextInbound(400);
        await Assert.ThrowsAsync<OsviValidationException>(() => agent.SendAsync(session.SessionId, conversation, "b", CancellationToken.None));

        // OSVI answered these, so it has finished with the attempt: retried, and the agent answers once.
        var before = _osvi.InboundAttempts;
        _osvi.FailNextInbound(408, 429, 500, 502);
        var turn = await agent.SendAsync(session.SessionId, conversation, "c", CancellationToken.None);
        Assert.Equal("echo: c", turn.Text);
        Assert.Equal(5, _osvi.InboundAttempts - before);

        // A gateway timeout may leave OSVI still working on the message: not sent again.
        before = _osvi.InboundAttempts;
        _osvi.FailNextInbound(504);
        var unavailable = await Assert.ThrowsAsync<OsviUnavailableException>(() => agent.SendAsync(session.SessionId, conversation, "d", CancellationToken.None));
        Assert.Equal(1, _osvi.InboundAttempts - before);
        Assert.True(unavailable.MayHaveReachedOsvi);

        var wrongToken = BridgeHost.BaseSettings(_osvi, redis);
        wrongToken["Osvi:ApiToken"] = "wrong-token-123456";
        var refused = await BridgeHost.StartAsync(wrongToken, s => s.AddSingleton<IReplySender>(new RecordingChannel()));
        _hosts.Add(refused);
        await Assert.ThrowsAsync<OsviAuthenticationException>(() =>
            refused.Services.GetRequiredService<IAgentConversation>().StartSessionAsync(conversation, "Rex", CancellationToken.None));
        // The start-up's read-only check stops a worker whose token OSVI refuses (exit 2 in the real process).
        var stopped = new TaskCompletionSource();
        using (refused.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopping.Register(() => stopped.TrySetResult()))
        {
            await stopped.Task.WaitAsync(TimeSpan.FromSeconds(20));
        }
        Assert.Contains("Osvi:ApiToken", refused.Services.GetRequiredService<global::Osvi.Bridge.Hosting.StartupFailure>().Problem?.Message, StringComparison.Ordinal);
    }
}
