using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.IntegrationTests.Infrastructure;

namespace Osvi.Bridge.IntegrationTests.Slack;

/// <summary>
/// The Slack path when Slack's Web API is slow or failing: acknowledgements never wait for it, names
/// are looked up off the ack path with a fallback, failures are retried where that is safe, and
/// progress appears only for a slow agent and never stays behind.
/// </summary>
public sealed class SlackLatencyTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
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

    private async Task StartBridgeAsync(Action<Dictionary<string, string?>>? tweak = null)
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
    }

    /// <summary>An agent that answers only once <paramref name="release"/> completed.</summary>
    private void HoldAgent(TaskCompletionSource release) => _osvi.Reply = (_, message) =>
    {
        release.Task.Wait(Eventually.Limit);
        return "echo: " + message;
    };

    [Fact]
    public async Task Slack_acks_100_envelopes_from_new_users_before_users_info_answers()
    {
        var usersInfo = _slack.Hold("users.info");
        await StartBridgeAsync(s => s["Slack:UserLookupTimeout"] = "00:00:30");

        var envelopes = new List<string>();
        for (var i = 0; i < 100; i++)
        {
            _slack.DisplayNames[$"UN{i}"] = $"Person {i}";
            envelopes.Add(await _slack.PushAsync(SlackEvents.Dm($"UN{i}", $"hello {i}", $"900.{i:D6}", channel: $"DN{i}")));
        }

        await Eventually.HoldsAsync(() => envelopes.All(e => _slack.Acks.Any(a => a.EnvelopeId == e)), "all 100 envelopes acknowledged");
        Assert.Equal(0, _slack.UsersInfoAnswered);

        usersInfo.SetResult();
        await Eventually.HoldsAsync(() => Enumerable.Range(0, 100).All(i => _slack.VisibleTexts($"DN{i}").SequenceEqual([$"echo: hello {i}"])),
            "all 100 answered");
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"Person {i}").Order(), _osvi.StartedSessions.Select(s => s.PersonName).Order());
    }

    [Fact]
    public async Task A_failing_users_info_names_the_session_by_user_id_and_is_not_asked_again_for_a_while()
    {
        await StartBridgeAsync(s => s["Slack:MaxRetries"] = "1");
        _slack.DisplayNames["UF1"] = "Never Seen";
        _slack.FailHttpNext("users.info", 500, 500);

        await _slack.PushAsync(SlackEvents.Dm("UF1", "first", "910.000001", channel: "DF1"));
        await _slack.WaitForTextsAsync("DF1", null, "echo: first");
        // Another conversation of the same user: the failure is remembered, users.info is not asked again.
        await _slack.PushAsync(SlackEvents.Dm("UF1", "second", "910.000002", channel: "DF2"));
        await _slack.WaitForTextsAsync("DF2", null, "echo: second");

        Assert.Equal(["UF1", "UF1"], _osvi.StartedSessions.Select(s => s.PersonName));
        Assert.Equal([500, 500], _slack.CallsOf("users.info").Select(c => c.Status));
    }

    [Fact]
    public async Task A_users_info_that_does_not_answer_in_time_names_the_session_by_user_id()
    {
        var usersInfo = _slack.Hold("users.info");
        await StartBridgeAsync(s => s["Slack:UserLookupTimeout"] = "00:00:00.200");

        await _slack.PushAsync(SlackEvents.Dm("U1", "anyone?", "920.000001"));

        await _slack.WaitForTextsAsync("D1", null, "echo: anyone?");
        usersInfo.SetResult();
        Assert.Equal("U1", _osvi.StartedSessions.Single().PersonName);
    }

    [Fact]
    public async Task Slack_5xx_is_retried_and_the_reply_posted_once()
    {
        await StartBridgeAsync(s => s["Slack:ShowProgress"] = "false");
        _slack.FailHttpNext("users.info", 502);
        _slack.FailHttpNext("chat.postMessage", 503);

        await _slack.PushAsync(SlackEvents.Dm("U1", "are you up?", "930.000001"));

        await _slack.WaitForTextsAsync("D1", null, "echo: are you up?");
        Assert.Equal([503, 200], _slack.CallsOf("chat.postMessage").Select(c => c.Status));
        Assert.Equal([502, 200], _slack.CallsOf("users.info").Select(c => c.Status));
        Assert.Equal("Alice", _osvi.StartedSessions.Single().PersonName);
    }

    [Fact]
    public async Task A_429_asking_to_wait_longer_than_the_limit_is_not_waited_for_in_the_call_and_the_answer_is_delivered_later_in_order()
    {
        await StartBridgeAsync(s =>
        {
            s["Slack:ShowProgress"] = "false";
            s["Slack:MaxRetryAfter"] = "00:00:01";
            s["Inbox:RetryDelay"] = "00:00:00.100";
        });
        _slack.RateLimitNext("chat.postMessage", 600);

        await _slack.PushAsync(SlackEvents.Dm("U1", "first", "935.000001"));
        await _slack.PushAsync(SlackEvents.Dm("U1", "second", "935.000002"));

        // The answer keeps its message (and its turn) in the inbox and goes out on a later attempt.
        await _slack.WaitForTextsAsync("D1", null, "echo: first", "echo: second");
        Assert.Equal([429, 200, 200], _slack.CallsOf("chat.postMessage").Select(c => c.Status));
    }

    [Fact]
    public async Task A_post_that_timed_out_is_not_repeated()
    {
        await StartBridgeAsync(s =>
        {
            s["Slack:ShowProgress"] = "false";
            s["Slack:RequestTimeout"] = "00:00:01";
        });
        var firstPost = _slack.Hold("chat.postMessage", once: true);

        await _slack.PushAsync(SlackEvents.Dm("U1", "first", "940.000001"));
        await _slack.PushAsync(SlackEvents.Dm("U1", "second", "940.000002"));

        // The second answer comes after the first post was given up on: that one was sent once only.
        await Eventually.HoldsAsync(() => _slack.VisibleTexts("D1").Contains("echo: second"), "the second answer");
        firstPost.SetResult();
        Assert.Single(_slack.CallsOf("chat.postMessage"), c => c.Body?["text"]?.GetValue<string>() == "echo: first");
    }

    [Fact]
    public async Task A_refused_chat_update_posts_the_answer_and_removes_the_placeholder()
    {
        await StartBridgeAsync(s => s["Slack:ProgressDelay"] = "00:00:00");
        _slack.FailNext("chat.update", "cant_update_message");

        await _slack.PushAsync(SlackEvents.Dm("U1", "edit me", "950.000001"));

        await _slack.WaitForTextsAsync("D1", null, "echo: edit me");
        await Eventually.HoldsAsync(() => _slack.CallsOf("chat.delete").Count == 1, "the placeholder deleted");
        Assert.Single(_slack.CallsOf("chat.update"));
        Assert.DoesNotContain(_slack.VisibleTexts("D1"), t => t.Contains("Thinking", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_chat_update_that_keeps_failing_is_retried_then_the_answer_is_posted_and_the_placeholder_removed()
    {
        await StartBridgeAsync(s =>
        {
            s["Slack:ProgressDelay"] = "00:00:00";
            s["Slack:MaxRetries"] = "2";
        });
        _slack.FailHttpNext("chat.update", 500, 500, 500);

        await _slack.PushAsync(SlackEvents.Dm("U1", "still there?", "960.000001"));

        await _slack.WaitForTextsAsync("D1", null, "echo: still there?");
        Assert.Equal([500, 500, 500], _slack.CallsOf("chat.update").Select(c => c.Status));
        Assert.Single(_slack.CallsOf("chat.delete"));
    }

    [Fact]
    public async Task A_transient_chat_update_failure_is_retried_in_place()
    {
        await StartBridgeAsync(s => s["Slack:ProgressDelay"] = "00:00:00");
        _slack.FailHttpNext("chat.update", 503);

        await _slack.PushAsync(SlackEvents.Dm("U1", "once more", "970.000001"));

        await _slack.WaitForTextsAsync("D1", null, "echo: once more");
        Assert.True(_slack.VisibleMessages("D1").Single().Edited);
        Assert.Empty(_slack.CallsOf("chat.delete"));
    }

    [Fact]
    public async Task A_quick_answer_is_one_post()
    {
        await StartBridgeAsync(s => s["Slack:ProgressDelay"] = "00:01:00");

        await _slack.PushAsync(SlackEvents.Dm("U1", "quick", "980.000001"));
        await _slack.PushAsync(SlackEvents.Mention("U1", "quick too", "980.000002"));

        await _slack.WaitForTextsAsync("D1", null, "echo: quick");
        await _slack.WaitForTextsAsync("C1", "980.000002", "echo: quick too");
        Assert.Equal(2, _slack.CallsOf("chat.postMessage").Count);
        Assert.Empty(_slack.CallsOf("chat.update"));
        Assert.Empty(_slack.CallsOf("assistant.threads.setStatus"));
    }

    [Fact]
    public async Task A_slow_agent_gets_a_placeholder_after_the_delay_which_the_answer_replaces()
    {
        var agent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        HoldAgent(agent);
        await StartBridgeAsync(s => s["Slack:ProgressDelay"] = "00:00:00.050");

        await _slack.PushAsync(SlackEvents.Dm("U1", "think hard", "990.000001"));

        await _slack.WaitForTextsAsync("D1", null, "_Thinking…_");
        agent.SetResult();
        await _slack.WaitForTextsAsync("D1", null, "echo: think hard");
        Assert.True(_slack.VisibleMessages("D1").Single().Edited);
    }

    [Fact]
    public async Task A_slow_agent_in_a_thread_shows_the_loading_status_and_no_placeholder()
    {
        var agent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        HoldAgent(agent);
        await StartBridgeAsync(s => s["Slack:ProgressDelay"] = "00:00:00.050");

        await _slack.PushAsync(SlackEvents.Mention("U1", "deep question", "1000.000001"));

        await Eventually.HoldsAsync(() => _slack.ThreadStatuses.Contains(("C1", "1000.000001", SlackReplySender.StatusText)), "the thread's loading status");
        agent.SetResult();
        await _slack.WaitForTextsAsync("C1", "1000.000001", "echo: deep question");
        Assert.Single(_slack.CallsOf("chat.postMessage"));
        Assert.Empty(_slack.CallsOf("chat.update"));
    }

    [Fact]
    public async Task Where_slack_refuses_the_loading_status_a_placeholder_is_shown_instead()
    {
        var agent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        HoldAgent(agent);
        await StartBridgeAsync(s => s["Slack:ProgressDelay"] = "00:00:00.050");
        _slack.FailNext("assistant.threads.setStatus", "missing_scope");

        await _slack.PushAsync(SlackEvents.Mention("U1", "deep question", "1010.000001"));

        await _slack.WaitForTextsAsync("C1", "1010.000001", "_Thinking…_");
        agent.SetResult();
        await _slack.WaitForTextsAsync("C1", "1010.000001", "echo: deep question");
        Assert.True(_slack.VisibleMessages("C1", "1010.000001").Single().Edited);
    }

    [Fact]
    public async Task With_two_connections_events_keep_flowing_while_one_reconnects()
    {
        await StartBridgeAsync();
        var first = await _slack.WaitForSocketAsync(1);
        await _slack.WaitForSocketAsync(2);

        // The replacement of the dropped connection cannot open yet: the other one carries on alone.
        _slack.HoldConnectionsOpen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        first.Socket.Abort();
        var during = await _slack.PushAsync(SlackEvents.Dm("U1", "during the gap", "1020.000001"), socket: 2);

        await _slack.WaitForAckAsync(during);
        await _slack.WaitForTextsAsync("D1", null, "echo: during the gap");
        _slack.HoldConnectionsOpen.SetResult();
        await _slack.WaitForSocketAsync(3);
    }
}
