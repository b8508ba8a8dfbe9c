using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.IntegrationTests.Slack;

/// <summary>
/// The Slack sender's progress on a clock the test moves: nothing before <c>Slack:ProgressDelay</c>,
/// the thread status refreshed before Slack's 2-minute expiry, and nothing left once it is over.
/// Talks to the fake Slack over HTTP.
/// </summary>
public sealed class SlackReplySenderTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new();
    private FakeSlackServer _slack = null!;
    private HttpClient _http = null!;
    private SlackReplySender _sender = null!;

    public async Task InitializeAsync()
    {
        _slack = await FakeSlackServer.StartAsync();
        var options = Options.Create(new SlackOptions { BotToken = FakeSlackServer.BotToken, AppToken = FakeSlackServer.AppToken });
        _http = new HttpClient { BaseAddress = new Uri(_slack.ApiBaseUrl) };
        var api = new SlackApiClient(_http, options, _time, NullLogger<SlackApiClient>.Instance);
        _sender = new SlackReplySender(api, new SlackPostPacer(options, _time), options, _time, NullLogger<SlackReplySender>.Instance);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _slack.DisposeAsync();
    }

    [Fact]
    public async Task The_thread_status_appears_after_the_delay_is_refreshed_before_slack_clears_it_and_stops_with_the_answer()
    {
        var target = new ReplyTarget("C1", "100.000001", "100.000001");
        await using var progress = await _sender.ShowProgressAsync(target, CancellationToken.None);

        Assert.Empty(_slack.ThreadStatuses);
        _time.Advance(TimeSpan.FromSeconds(0.5));
        await Eventually.HoldsAsync(() => _slack.ThreadStatuses.Count == 1, "the status set");
        // The refresh timer starts once Slack's answer is read; the clock moves a second at a time until it fires.
        var sinceSet = TimeSpan.Zero;
        await Eventually.HoldsAsync(() =>
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            sinceSet += TimeSpan.FromSeconds(1);
            return _slack.ThreadStatuses.Count == 2;
        }, "the status refreshed");
        Assert.True(sinceSet < TimeSpan.FromMinutes(2), $"refreshed after {sinceSet}");

        await _sender.SendAsync(target, "the answer", CancellationToken.None);
        _time.Advance(SlackReplySender.StatusRefresh);

        Assert.Equal(["the answer"], _slack.VisibleTexts("C1", "100.000001"));
        Assert.All(_slack.ThreadStatuses, s => Assert.Equal(("C1", "100.000001", SlackReplySender.StatusText), s));
        Assert.Equal(2, _slack.ThreadStatuses.Count);
    }

    [Fact]
    public async Task A_status_no_answer_replaced_is_cleared_and_a_placeholder_deleted()
    {
        var thread = new ReplyTarget("C1", "200.000001", "200.000001");
        var dm = new ReplyTarget("D1", null, "200.000002");
        var threadProgress = await _sender.ShowProgressAsync(thread, CancellationToken.None);
        var dmProgress = await _sender.ShowProgressAsync(dm, CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(0.5));
        await Eventually.HoldsAsync(() => _slack.ThreadStatuses.Count == 1 && _slack.VisibleTexts("D1").Count == 1, "status and placeholder shown");

        await threadProgress.DisposeAsync();
        await dmProgress.DisposeAsync();

        Assert.Equal("", _slack.ThreadStatuses.Last().Status);
        Assert.Empty(_slack.VisibleTexts("D1"));
    }

    [Fact]
    public async Task An_answer_before_the_delay_shows_no_progress_at_all()
    {
        var target = new ReplyTarget("D1", null, "300.000001");
        await using (await _sender.ShowProgressAsync(target, CancellationToken.None))
        {
            await _sender.SendAsync(target, "quick", CancellationToken.None);
        }
        _time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(["quick"], _slack.VisibleTexts("D1"));
        Assert.Single(_slack.CallsOf("chat.postMessage"));
        Assert.Empty(_slack.ThreadStatuses);
    }
}
