using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.IntegrationTests.Slack;

/// <summary>The Slack channel in Socket Mode, end to end: real worker, real redis-server, fake Slack and fake OSVI.</summary>
public sealed class SlackSocketModeTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private FakeOsviServer _osvi = null!;
    private FakeSlackServer _slack = null!;
    private BridgeHost? _host;

    public async Task InitializeAsync()
    {
        _osvi = await FakeOsviServer.StartAsync();
        _osvi.WelcomeMessage = null;
        _slack = await FakeSlackServer.StartAsync();
        _slack.DisplayNames["U1"] = "Alice";
        _slack.DisplayNames["U2"] = "Bob";
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        await _slack.DisposeAsync();
        await _osvi.DisposeAsync();
    }

    private async Task<BridgeHost> StartBridgeAsync(Action<Dictionary<string, string?>>? tweak = null)
    {
        var settings = BridgeHost.BaseSettings(_osvi, redis);
        settings["Slack:BotToken"] = FakeSlackServer.BotToken;
        settings["Slack:AppToken"] = FakeSlackServer.AppToken;
        settings["Slack:ApiBaseUrl"] = _slack.ApiBaseUrl;
        settings["Slack:PostBurst"] = "100";
        settings["Slack:ReconnectDelay"] = "00:00:00.050";
        settings["Slack:RetryDelay"] = "00:00:00.010";
        tweak?.Invoke(settings);
        _host = await BridgeHost.StartAsync(settings);
        await _slack.WaitForSocketAsync(1);
        return _host;
    }

    [Fact]
    public async Task Dm_round_trip_shows_progress_then_the_answer()
    {
        _osvi.WelcomeMessage = "Welcome!";
        var host = await StartBridgeAsync(s => s["Slack:ProgressDelay"] = "00:00:00");

        var envelope = await _slack.PushAsync(SlackEvents.Dm("U1", "hello &amp; &lt;hi&gt;", "100.000001"));

        await _slack.WaitForAckAsync(envelope);
        await _slack.WaitForTextsAsync("D1", null, "Welcome!", "echo: hello &amp; &lt;hi&gt;");
        Assert.Equal("hello & <hi>", _osvi.Messages.Single().Text);
        Assert.Equal("Alice", _osvi.StartedSessions.Single().PersonName);
        // The welcome came first; then the placeholder was posted and the answer replaced it.
        var messages = _slack.VisibleMessages("D1");
        Assert.False(messages[0].Edited);
        Assert.True(messages[1].Edited);
        Assert.Equal("Welcome!", _slack.CallsOf("chat.postMessage")[0].Body!["text"]!.GetValue<string>());
        Assert.Equal("_Thinking…_", _slack.CallsOf("chat.postMessage")[1].Body!["text"]!.GetValue<string>());
        Assert.All(_slack.CallsOf("chat.postMessage"), c => Assert.Equal("application/json; charset=utf-8", c.ContentType));
        Assert.Equal("U1", _slack.CallsOf("users.info").Single().Query);
        var status = host.Services.GetRequiredService<ChannelStatusBoard>().Snapshot().Single(s => s.Channel == "slack");
        Assert.True(status.Connected);
    }

    [Fact]
    public async Task Channel_mention_is_answered_in_its_thread_and_the_thread_continues_the_session()
    {
        await StartBridgeAsync();

        await _slack.PushAsync(SlackEvents.Mention("U1", "first question", "200.000001"));
        await _slack.WaitForTextsAsync("C1", "200.000001", "echo: first question");
        await _slack.PushAsync(SlackEvents.Mention("U2", "follow-up", "205.000001", threadTs: "200.000001"));
        await _slack.WaitForTextsAsync("C1", "200.000001", "echo: first question", "echo: follow-up");

        Assert.Empty(_slack.VisibleTexts("C1"));
        Assert.Equal(["first question", "follow-up"], _osvi.Messages.Select(m => m.Text));
        Assert.Single(_osvi.StartedSessions);
        Assert.Single(_osvi.Messages.Select(m => m.SessionId).Distinct());
    }

    [Fact]
    public async Task Redelivered_and_doubly_delivered_events_are_answered_once_and_all_acknowledged()
    {
        await StartBridgeAsync();
        var mention = SlackEvents.Mention("U1", "only once", "300.000001");

        var envelopes = new List<string>
        {
            await _slack.PushAsync(mention),
            // Slack redelivers when an ack is late: same event, new envelope, retry_attempt set.
            await _slack.PushAsync(mention, retryAttempt: 1),
            // Subscribed to message.channels too: the same mention as a channel message, another event_id.
            await _slack.PushAsync(SlackEvents.ChannelMessage("U1", $"<@{FakeSlackServer.BotUserId}> only once", "300.000001")),
        };
        // A later message of the same thread: once it is answered, the duplicates were handled before it.
        envelopes.Add(await _slack.PushAsync(SlackEvents.Mention("U1", "next", "301.000001", threadTs: "300.000001")));

        await _slack.WaitForTextsAsync("C1", "300.000001", "echo: only once", "echo: next");
        foreach (var envelope in envelopes)
        {
            await _slack.WaitForAckAsync(envelope);
        }
        Assert.Equal(["only once", "next"], _osvi.Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task Own_bot_and_edited_messages_are_ignored_but_acknowledged()
    {
        await StartBridgeAsync();

        var ignored = new[]
        {
            await _slack.PushAsync(SlackEvents.Dm(FakeSlackServer.BotUserId, "my own words", "400.000001")),
            await _slack.PushAsync(SlackEvents.Raw(new() { ["type"] = "message", ["channel_type"] = "im", ["channel"] = "D1", ["bot_id"] = "B9", ["user"] = "U9", ["text"] = "another bot", ["ts"] = "400.000002" })),
            await _slack.PushAsync(SlackEvents.Raw(new() { ["type"] = "message", ["subtype"] = "message_changed", ["hidden"] = true, ["channel_type"] = "im", ["channel"] = "D1", ["ts"] = "400.000003" })),
            await _slack.PushAsync(SlackEvents.Raw(new() { ["type"] = "message", ["subtype"] = "channel_join", ["channel_type"] = "channel", ["channel"] = "C1", ["user"] = "U1", ["ts"] = "400.000004" })),
            await _slack.PushAsync(SlackEvents.ChannelMessage("U1", "chatter without a mention", "400.000005")),
        };
        await _slack.PushAsync(SlackEvents.Dm("U1", "real question", "400.000006"));

        await _slack.WaitForTextsAsync("D1", null, "echo: real question");
        foreach (var envelope in ignored)
        {
            await _slack.WaitForAckAsync(envelope);
        }
        Assert.Equal(["real question"], _osvi.Messages.Select(m => m.Text));
        Assert.Empty(_slack.VisibleTexts("C1"));
    }

    [Fact]
    public async Task A_12000_character_reply_is_split_losslessly()
    {
        var paragraphs = Enumerable.Range(0, 120).Select(i => $"Paragraph {i}: " + string.Join(' ', Enumerable.Repeat("lorem ipsum", 8)));
        var answer = string.Join("\n\n", paragraphs);
        Assert.True(answer.Length >= 12_000);
        _osvi.Reply = (_, _) => answer;
        await StartBridgeAsync();

        await _slack.PushAsync(SlackEvents.Dm("U1", "tell me a lot", "500.000001"));

        await Eventually.HoldsAsync(
            () => string.Join("\n\n", _slack.VisibleTexts("D1")) == answer, "the whole answer in D1");
        var texts = _slack.VisibleTexts("D1");
        Assert.True(texts.Count >= 4);
        Assert.All(texts, t => Assert.InRange(t.Length, 1, 4000));
    }

    [Fact]
    public async Task The_placeholder_is_deleted_when_no_answer_comes()
    {
        _osvi.Reply = (_, message) => message == "silence" ? "" : "echo: " + message;
        await StartBridgeAsync(s => s["Slack:ProgressDelay"] = "00:00:00");

        await _slack.PushAsync(SlackEvents.Dm("U1", "silence", "550.000001"));
        await _slack.PushAsync(SlackEvents.Dm("U1", "speak", "550.000002"));

        await _slack.WaitForTextsAsync("D1", null, "echo: speak");
        Assert.Single(_slack.CallsOf("chat.delete"));
        Assert.Equal(2, _slack.CallsOf("chat.postMessage").Count); // two placeholders, no extra posts
    }

    [Fact]
    public async Task Rate_limit_429_is_waited_out_and_the_reply_posted_once()
    {
        await StartBridgeAsync(s => s["Slack:ShowProgress"] = "false");
        _slack.RateLimitNext("chat.postMessage", 1);

        await _slack.PushAsync(SlackEvents.Dm("U1", "busy?", "600.000001"));

        await _slack.WaitForTextsAsync("D1", null, "echo: busy?");
        Assert.Equal([429, 200], _slack.CallsOf("chat.postMessage").Select(c => c.Status));
    }

    [Fact]
    public async Task A_refused_reply_is_logged_not_retried_and_the_next_message_still_works()
    {
        await StartBridgeAsync(s => s["Slack:ShowProgress"] = "false");
        _slack.FailNext("chat.postMessage", "not_in_channel");

        await _slack.PushAsync(SlackEvents.Dm("U1", "first", "650.000001"));
        await _slack.PushAsync(SlackEvents.Dm("U1", "second", "650.000002"));

        await _slack.WaitForTextsAsync("D1", null, "echo: second");
        Assert.Equal(2, _slack.CallsOf("chat.postMessage").Count);
    }

    [Fact]
    public async Task Refresh_requested_opens_a_new_connection_first_and_loses_no_event()
    {
        await StartBridgeAsync(s => s["Slack:SocketConnections"] = "1");
        var first = await _slack.WaitForSocketAsync(1);
        await _slack.PushAsync(SlackEvents.Dm("U1", "before", "700.000001"));
        await _slack.WaitForTextsAsync("D1", null, "echo: before");

        // Hold the next connection open so that an event arrives on the old socket mid-refresh.
        _slack.HoldConnectionsOpen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await first.SendDisconnectAsync("refresh_requested");
        var during = await _slack.PushAsync(SlackEvents.Dm("U1", "during", "700.000002"), socket: 1);
        await _slack.WaitForAckAsync(during);
        Assert.Contains((1, during), _slack.Acks);

        _slack.HoldConnectionsOpen.SetResult();
        await _slack.WaitForSocketAsync(2);
        await Eventually.HoldsAsync(() => first.ClosedByClient, "the old socket closed by the bridge");
        var after = await _slack.PushAsync(SlackEvents.Dm("U1", "after", "700.000003"), socket: 2);
        await _slack.WaitForAckAsync(after);

        await _slack.WaitForTextsAsync("D1", null, "echo: before", "echo: during", "echo: after");
        Assert.Contains((2, after), _slack.Acks);
        Assert.Equal(2, _slack.CallsOf("apps.connections.open").Count);
        Assert.Single(_osvi.StartedSessions);
    }

    [Fact]
    public async Task A_dropped_connection_is_replaced_with_a_fresh_url()
    {
        await StartBridgeAsync(s => s["Slack:SocketConnections"] = "1");
        var first = await _slack.WaitForSocketAsync(1);

        first.Socket.Abort();

        await _slack.WaitForSocketAsync(2);
        await _slack.PushAsync(SlackEvents.Dm("U1", "still there?", "800.000001"), socket: 2);
        await _slack.WaitForTextsAsync("D1", null, "echo: still there?");
        Assert.Equal(2, _slack.CallsOf("apps.connections.open").Count);
    }

    [Fact]
    public async Task Link_disabled_stops_the_channel_and_reports_it()
    {
        var host = await StartBridgeAsync(s => s["Slack:SocketConnections"] = "1");
        var first = await _slack.WaitForSocketAsync(1);

        await first.SendDisconnectAsync("link_disabled");

        var board = host.Services.GetRequiredService<ChannelStatusBoard>();
        await Eventually.HoldsAsync(
            () => board.Snapshot().Single(s => s.Channel == "slack") is { Connected: false } s && s.Detail.Contains("link_disabled", StringComparison.Ordinal),
            "slack reported link_disabled");
        Assert.Single(_slack.CallsOf("apps.connections.open"));
    }

    [Fact]
    public async Task A_bot_token_without_app_token_or_signing_secret_is_a_configuration_error()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartBridgeAsync(s => s["Slack:AppToken"] = ""));

        Assert.Contains("Slack:SigningSecret", Flatten(error), StringComparison.Ordinal);
    }

    private static string Flatten(Exception exception)
    {
        var text = new StringBuilder();
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            text.AppendLine(e.Message);
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    text.AppendLine(Flatten(inner));
                }
            }
        }
        return text.ToString();
    }
}
