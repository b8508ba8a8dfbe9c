using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Osvi.Bridge.Adapters.Slack;

namespace Osvi.Bridge.Tests.Slack;

public sealed class SlackPostPacerTests
{
    private static (SlackPostPacer Pacer, FakeTimeProvider Time) Create(int burst = 2, double perSecond = 1)
    {
        var time = new FakeTimeProvider();
        var options = Options.Create(new SlackOptions { PostBurst = burst, PostsPerSecondPerChannel = perSecond });
        return (new SlackPostPacer(options, time), time);
    }

    [Fact]
    public void A_burst_goes_out_at_once_then_posts_wait_their_turn_in_order()
    {
        var (pacer, time) = Create(burst: 2);

        var turns = Enumerable.Range(0, 4).Select(_ => pacer.WaitTurnAsync("C1", CancellationToken.None)).ToArray();

        Assert.True(turns[0].IsCompleted);
        Assert.True(turns[1].IsCompleted);
        Assert.False(turns[2].IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(turns[2].IsCompleted);
        Assert.False(turns[3].IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(turns[3].IsCompleted);
    }

    [Fact]
    public void Channels_are_paced_independently()
    {
        var (pacer, _) = Create(burst: 1);

        Assert.True(pacer.WaitTurnAsync("C1", CancellationToken.None).IsCompleted);
        Assert.False(pacer.WaitTurnAsync("C1", CancellationToken.None).IsCompleted);
        Assert.True(pacer.WaitTurnAsync("C2", CancellationToken.None).IsCompleted);
    }

    [Fact]
    public void A_quiet_channel_earns_its_burst_back()
    {
        var (pacer, time) = Create(burst: 2);
        _ = pacer.WaitTurnAsync("C1", CancellationToken.None);
        _ = pacer.WaitTurnAsync("C1", CancellationToken.None);

        time.Advance(TimeSpan.FromSeconds(10));

        Assert.True(pacer.WaitTurnAsync("C1", CancellationToken.None).IsCompleted);
        Assert.True(pacer.WaitTurnAsync("C1", CancellationToken.None).IsCompleted);
        Assert.False(pacer.WaitTurnAsync("C1", CancellationToken.None).IsCompleted);
    }

    [Fact]
    public async Task Channels_that_went_quiet_are_forgotten()
    {
        var (pacer, time) = Create(burst: 2);
        for (var i = 0; i < 1000; i++)
        {
            await pacer.WaitTurnAsync($"C{i}", CancellationToken.None);
        }
        Assert.Equal(1000, pacer.TrackedChannels);

        time.Advance(TimeSpan.FromMinutes(1));
        for (var i = 0; i < 100; i++)
        {
            await pacer.WaitTurnAsync("busy", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5), time);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.InRange(pacer.TrackedChannels, 1, 80);
    }

    [Fact]
    public void Progress_takes_a_slot_only_when_one_is_free_and_never_delays_an_answer()
    {
        var (pacer, time) = Create(burst: 2);

        Assert.True(pacer.TryTakeNow("C1"));
        Assert.True(pacer.WaitTurnAsync("C1", CancellationToken.None).IsCompleted);
        // The budget is spent: progress is skipped rather than queued.
        Assert.False(pacer.TryTakeNow("C1"));
        var answer = pacer.WaitTurnAsync("C1", CancellationToken.None);
        Assert.False(answer.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(answer.IsCompleted);
        // A skipped progress took nothing: the answer waited one slot, not two.
        Assert.False(pacer.TryTakeNow("C1"));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(pacer.TryTakeNow("C1"));
    }
}
