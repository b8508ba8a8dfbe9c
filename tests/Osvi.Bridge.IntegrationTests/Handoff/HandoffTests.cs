using Microsoft.Extensions.DependencyInjection;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Handoff;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.IntegrationTests.Slack;
using Osvi.Bridge.IntegrationTests.Telegram;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Telemetry;
using static Osvi.Bridge.IntegrationTests.Telegram.FakeTelegramServer;

namespace Osvi.Bridge.IntegrationTests.Handoff;

/// <summary>
/// Human handoff end to end: a Telegram user talks to the OSVI v1 stand-in, help requests open threads in the Slack
/// stand-in's support channel (Socket Mode), operators answer there. Real worker, real redis-server.
/// </summary>
public sealed class HandoffTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private const string Support = "CSUPPORT";
    private const string Operator = "UOPERATOR";
    private const long User = 1001;

    private readonly List<BridgeHost> _hosts = [];
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
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }
        await _slack.DisposeAsync();
        await _telegram.DisposeAsync();
        await _osvi.DisposeAsync();
    }

    private async Task<BridgeHost> StartBridgeAsync(string keyPrefix, Action<Dictionary<string, string?>>? tweak = null)
    {
        var settings = BridgeHost.BaseSettings(_osvi, redis, keyPrefix);
        settings["Telegram:BotToken"] = Token;
        settings["Telegram:ApiBaseUrl"] = _telegram.BaseUrl;
        settings["Telegram:PollingTimeout"] = "00:00:01";
        settings["Telegram:PollingRetryDelay"] = "00:00:00.050";
        settings["Telegram:TypingDelay"] = "00:00:00";
        settings["Telegram:PerChatRate"] = "100";
        settings["Telegram:GlobalPerSecond"] = "1000";
        settings["Slack:BotToken"] = FakeSlackServer.BotToken;
        settings["Slack:AppToken"] = FakeSlackServer.AppToken;
        settings["Slack:ApiBaseUrl"] = _slack.ApiBaseUrl;
        settings["Slack:PostBurst"] = "100";
        settings["Slack:PostsPerSecondPerChannel"] = "100";
        settings["Slack:SocketConnections"] = "1";
        settings["Slack:ReconnectDelay"] = "00:00:00.050";
        settings["Slack:RetryDelay"] = "00:00:00.010";
        settings["Handoff:SlackChannel"] = Support;
        tweak?.Invoke(settings);
        var socket = _slack.SocketCount + 1;
        var host = await BridgeHost.StartAsync(settings);
        _hosts.Add(host);
        if (!string.IsNullOrEmpty(settings["Slack:AppToken"]))
        {
            await _slack.WaitForSocketAsync(socket);
        }
        var board = host.Services.GetRequiredService<ChannelStatusBoard>();
        await Eventually.HoldsAsync(() => board.Snapshot().Any(c => c.Channel == "slack" && c.Connected), "slack ready");
        return host;
    }

    /// <summary>The user says something and the bridge has handled it: the agent's answer arrived, or the thread shows the words.</summary>
    private async Task UserSaysAsync(string text, string? expectedAnswer)
    {
        _telegram.EnqueueMessage(Private(User, text));
        if (expectedAnswer is not null)
        {
            await _telegram.WaitForTextAsync(User, expectedAnswer);
        }
    }

    /// <summary>The thread's first post, once the bridge has stored the thread (it posts first, then records the post's ts).</summary>
    private async Task<FakeSlackServer.SlackMessage> WaitForHelpRequestAsync()
    {
        await Eventually.HoldsAsync(() => _slack.VisibleMessages(Support).Count == 1, "a help request in the support channel");
        var root = _slack.VisibleMessages(Support).Single();
        var store = _hosts[^1].Services.GetRequiredService<IHandoffStore>();
        await Eventually.HoldsAsync(() => store.FindByThreadAsync(Support, root.Ts, CancellationToken.None).GetAwaiter().GetResult() is not null,
            "the thread's mapping");
        return root;
    }

    private Task WaitForThreadAsync(string threadTs, Func<string, bool> post, string what) =>
        Eventually.HoldsAsync(() => _slack.VisibleTexts(Support, threadTs).Any(post), what + " in the support thread; have ["
            + string.Join(" | ", _slack.VisibleTexts(Support, threadTs)) + "]");

    private FakeOsviV1Server.Session OnlySession() => _osvi.Sessions.Values.Single();

    [Fact]
    public async Task Telegram_user_asks_for_a_human_and_the_operators_reply_in_the_slack_thread_reaches_them()
    {
        var host = await StartBridgeAsync(RedisServerFixture.NewKeyPrefix());
        using var helpRequests = new InstrumentCounter(host.Services.GetRequiredService<BridgeMetrics>().Meter, "osvi_bridge.handoff.help_requests");
        using var takeovers = new InstrumentCounter(host.Services.GetRequiredService<BridgeMetrics>().Meter, "osvi_bridge.handoff.takeovers");
        using var operatorMessages = new InstrumentCounter(host.Services.GetRequiredService<BridgeMetrics>().Meter, "osvi_bridge.handoff.operator_messages");
        using var firstReply = new InstrumentCounter(host.Services.GetRequiredService<BridgeMetrics>().Meter, "osvi_bridge.handoff.first_reply");

        await UserSaysAsync("where is my parcel?", "echo: where is my parcel?");
        await UserSaysAsync("I want to talk to a human", "echo: I want to talk to a human");

        // The user got the agent's reply, and the support channel got one post naming who asks, what and the turn before.
        var request = await WaitForHelpRequestAsync();
        Assert.Contains("Help requested", request.Text);
        Assert.Contains("Alice", request.Text);
        Assert.Contains($"telegram, `telegram:{BotId}:{User}`", request.Text);
        Assert.Contains("> I want to talk to a human", request.Text);
        Assert.Contains("where is my parcel?", request.Text);
        Assert.Contains("!end", request.Text);
        Assert.Equal(1, helpRequests.Total);

        await _slack.PostInThreadAsAsync(Operator, Support, request.Ts, "Hi, this is Dana from support & I can help");
        await _telegram.WaitForTextAsync(User, "Hi, this is Dana from support &amp; I can help");
        await WaitForThreadAsync(request.Ts, t => t.Contains("took the conversation over", StringComparison.Ordinal), "the takeover confirmation");

        var session = OnlySession();
        Assert.Equal("support", session.Mode);
        Assert.Equal(["takeover", null], _osvi.SupportCalls.Select(c => c.Command));
        Assert.Equal(["Hi, this is Dana from support & I can help"], session.Operator);
        Assert.Equal((1, 1, 1), (takeovers.Total, operatorMessages.Total, firstReply.Measurements));
        var metrics = await host.Http.GetStringAsync("/metrics");
        foreach (var name in new[] { "osvi_bridge_handoff_help_requests_total", "osvi_bridge_handoff_takeovers_total",
                     "osvi_bridge_handoff_operator_messages_total", "osvi_bridge_handoff_first_reply_seconds_bucket" })
        {
            Assert.Contains(name, metrics, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Without_redis_the_thread_mapping_lives_in_the_process_and_the_handoff_works()
    {
        await StartBridgeAsync(RedisServerFixture.NewKeyPrefix(), s => s["Redis:ConnectionString"] = "");
        Assert.IsType<InMemoryHandoffStore>(_hosts[^1].Services.GetRequiredService<IHandoffStore>());
        await UserSaysAsync("a human, please", "echo: a human, please");
        var request = await WaitForHelpRequestAsync();

        await _slack.PostInThreadAsAsync(Operator, Support, request.Ts, "here to help");

        await _telegram.WaitForTextAsync(User, "here to help");
    }

    [Fact]
    public async Task The_users_answer_appears_in_the_thread_and_the_agent_stays_silent_until_end_hands_back()
    {
        var host = await StartBridgeAsync(RedisServerFixture.NewKeyPrefix());
        using var handBacks = new InstrumentCounter(host.Services.GetRequiredService<BridgeMetrics>().Meter, "osvi_bridge.handoff.hand_backs");
        await UserSaysAsync("get me a human please", "echo: get me a human please");
        var request = await WaitForHelpRequestAsync();
        await _slack.PostInThreadAsAsync(Operator, Support, request.Ts, "Hello, Dana here");
        await _telegram.WaitForTextAsync(User, "Hello, Dana here");
        var typingBefore = _telegram.CallsTo("sendChatAction").Count;
        var sentBefore = _telegram.TextsTo(User).Count;

        await UserSaysAsync("my order is <42>", expectedAnswer: null);

        // Mirrored after the turn: OSVI has it in the session's history, the user got nothing and saw no typing.
        await WaitForThreadAsync(request.Ts, t => t.EndsWith(":* my order is &lt;42&gt;", StringComparison.Ordinal), "the user's words");
        Assert.Contains(_osvi.Messages, m => m.Content == "my order is <42>");
        Assert.Equal(sentBefore, _telegram.TextsTo(User).Count);
        Assert.Equal(typingBefore, _telegram.CallsTo("sendChatAction").Count);

        await _slack.PostInThreadAsAsync(Operator, Support, request.Ts, "!end");
        await WaitForThreadAsync(request.Ts, t => t.Contains("handed the conversation back", StringComparison.Ordinal), "the hand-back confirmation");
        await UserSaysAsync("are you the bot again?", "echo: are you the bot again?");

        Assert.Equal("ai", OnlySession().Mode);
        Assert.DoesNotContain(_telegram.TextsTo(User), t => t.Contains("!end", StringComparison.Ordinal));
        Assert.Equal(1, handBacks.Total);
    }

    [Fact]
    public async Task A_reply_after_osvi_ended_support_mode_behind_the_bridge_takes_the_session_over_again()
    {
        await StartBridgeAsync(RedisServerFixture.NewKeyPrefix());
        await UserSaysAsync("human please", "echo: human please");
        var request = await WaitForHelpRequestAsync();
        await _slack.PostInThreadAsAsync(Operator, Support, request.Ts, "first words");
        await _telegram.WaitForTextAsync(User, "first words");
        _osvi.HandBackBehindTheBridge(OnlySession().Id);

        await _slack.PostInThreadAsAsync(Operator, Support, request.Ts, "second words");

        await _telegram.WaitForTextAsync(User, "second words");
        Assert.Equal(["takeover", null, null, "takeover", null], _osvi.SupportCalls.Select(c => c.Command));
        Assert.Equal(["first words", "second words"], OnlySession().Operator);
    }

    [Fact]
    public async Task A_restart_between_the_help_request_and_the_operators_reply_keeps_the_thread_mapping()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var first = await StartBridgeAsync(prefix);
        await UserSaysAsync("a human, now", "echo: a human, now");
        var request = await WaitForHelpRequestAsync();
        await first.StopAsync();
        _hosts.Remove(first);
        await first.DisposeAsync();

        await StartBridgeAsync(prefix);
        // The first bridge's connection is gone; the new bridge's is the second the stand-in saw.
        await _slack.PostInThreadAsAsync(Operator, Support, request.Ts, "Sorry for the wait", socket: 2);

        await _telegram.WaitForTextAsync(User, "Sorry for the wait");
        Assert.Single(_slack.VisibleMessages(Support));
        Assert.Equal(["Sorry for the wait"], OnlySession().Operator);
    }

    [Fact]
    public async Task Whisper_guides_the_agent_unseen_tell_answers_the_user_and_close_starts_afresh()
    {
        await StartBridgeAsync(RedisServerFixture.NewKeyPrefix());
        await UserSaysAsync("human please", "echo: human please");
        var request = await WaitForHelpRequestAsync();
        var session = OnlySession();

        await _slack.PostInThreadAsAsync(Operator, Support, request.Ts, "!whisper offer a 10% discount");
        await WaitForThreadAsync(request.Ts, t => t.Contains("Whispered to the agent", StringComparison.Ordinal), "the whisper confirmation");
        await _slack.PostInThreadAsAsync(Operator, Support, request.Ts, "!tell apologize for the delay");
        await _telegram.WaitForTextAsync(User, "told: apologize for the delay");
        await WaitForThreadAsync(request.Ts, t => t.Contains("Told the agent", StringComparison.Ordinal), "the tell confirmation");
        await _slack.PostInThreadAsAsync(Operator, Support, request.Ts, "!close");
        await WaitForThreadAsync(request.Ts, t => t.Contains("closed the session", StringComparison.Ordinal), "the close confirmation");

        Assert.Equal(["offer a 10% discount"], session.Whispers);
        Assert.Equal("closed", session.Status);
        Assert.DoesNotContain(_telegram.TextsTo(User), t => t.Contains("discount", StringComparison.Ordinal) || t.StartsWith('!'));

        // The user's next message starts a new session; the operator's late reply in the old thread gets a note.
        await UserSaysAsync("hello again", "echo: hello again");
        Assert.Equal(2, _osvi.Sessions.Count);
        await _slack.PostInThreadAsAsync(Operator, Support, request.Ts, "one more thing");
        await WaitForThreadAsync(request.Ts, t => t.Contains("session is closed", StringComparison.Ordinal), "the closed-session note");
        Assert.DoesNotContain("one more thing", _telegram.TextsTo(User));
    }

    [Fact]
    public async Task Own_posts_other_bots_top_level_messages_and_other_threads_in_the_support_channel_are_ignored()
    {
        var host = await StartBridgeAsync(RedisServerFixture.NewKeyPrefix());
        await UserSaysAsync("human!", "echo: human!");
        var request = await WaitForHelpRequestAsync();

        // Watched before it is pushed: a thread the bridge did not open is taken in and then ignored.
        var handled = host.Handled.Watch(SupportPost("1700000002.000001", "1700000000.000001"));
        await _slack.PushAsync(SlackEvents.ThreadReply("USOMEONE", "chatting about lunch", "1700000002.000001", "1700000000.000001", Support));
        await _slack.PushAsync(SlackEvents.ChannelMessage("USOMEONE", "top-level chatter", "1700000001.000001", Support));
        await _slack.PostInThreadAsAsync(FakeSlackServer.BotUserId, Support, request.Ts, "our own post", botId: FakeSlackServer.BotId);
        await _slack.PostInThreadAsAsync("UOTHERBOT", Support, request.Ts, "another bot", botId: "BOTHER");
        await _slack.PostInThreadAsAsync(Operator, Support, request.Ts, "the real reply");

        await _telegram.WaitForTextAsync(User, "the real reply");
        Assert.Equal(DeliveryResult.Finished, await handled.WaitAsync(Eventually.Limit));
        Assert.Equal(["echo: human!", "the real reply"], _telegram.TextsTo(User));
        Assert.Equal(["the real reply"], OnlySession().Operator);
        Assert.Empty(_slack.VisibleTexts(Support, "1700000000.000001"));
    }

    [Fact]
    public async Task An_agent_that_cannot_be_reached_is_flagged_in_the_support_channel_beside_the_apology()
    {
        await StartBridgeAsync(RedisServerFixture.NewKeyPrefix(), s => s["Osvi:MaxRetries"] = "1");
        await UserSaysAsync("first", "echo: first");
        _osvi.FailNextInbound(503, 503);

        await UserSaysAsync("are you there?", "Sorry, I can't reach the assistant right now. Please try again in a few minutes.");

        var flag = await WaitForHelpRequestAsync();
        Assert.Contains("could not be reached", flag.Text);
        Assert.Contains("are you there?", flag.Text);
        // The flag is a handoff thread: an operator can answer from it.
        await _slack.PostInThreadAsAsync(Operator, Support, flag.Ts, "We are looking into it");
        await _telegram.WaitForTextAsync(User, "We are looking into it");
    }

    [Fact]
    public async Task Over_the_events_api_a_slack_dm_user_gets_the_operators_reply_from_the_support_thread()
    {
        const string secret = "handoff-signing-secret";
        _slack.DisplayNames["U1"] = "Alice";
        var host = await StartBridgeAsync(RedisServerFixture.NewKeyPrefix(), s =>
        {
            s["Slack:AppToken"] = "";
            s["Slack:SigningSecret"] = secret;
        });
        async Task PostEventAsync(System.Text.Json.Nodes.JsonObject payload)
        {
            var body = payload.ToJsonString();
            var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/slack/events") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
            request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
            request.Headers.Add("X-Slack-Signature",
                new global::Osvi.Bridge.Adapters.Slack.SlackSignatureVerifier(secret, TimeProvider.System).Sign(timestamp, System.Text.Encoding.UTF8.GetBytes(body)));
            using var response = await host.Http.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        }

        await PostEventAsync(SlackEvents.Dm("U1", "can a human help me?", "100.000001"));
        await _slack.WaitForTextsAsync("D1", null, "echo: can a human help me?");
        var request = await WaitForHelpRequestAsync();
        Assert.Contains("*Alice* (slack, `slack:T1:D1`", request.Text);

        await PostEventAsync(SlackEvents.ThreadReply(Operator, "Hi Alice, support here", "1800000100.000001", request.Ts, Support));

        await _slack.WaitForTextsAsync("D1", null, "echo: can a human help me?", "Hi Alice, support here");
        Assert.Equal(["Hi Alice, support here"], OnlySession().Operator);
    }

    private static InboundMessage SupportPost(string ts, string threadTs) =>
        new("slack-support", ConversationKey.Create("slack-support", FakeSlackServer.TeamId, Support, threadTs), $"{Support}:{ts}", Operator, Operator, "",
            new ReplyTarget(Support, threadTs, ts));
}
