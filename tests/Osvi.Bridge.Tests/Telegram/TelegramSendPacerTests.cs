using Microsoft.Extensions.Options;
using Osvi.Bridge.Adapters.Telegram;

namespace Osvi.Bridge.Tests.Telegram;

public sealed class TelegramSendPacerTests
{
    [Fact]
    public async Task Sends_to_one_group_beyond_the_burst_wait_and_keep_their_order()
    {
        using var pacer = new TelegramSendPacer(Options.Create(new TelegramOptions { BotToken = "1:x", GroupPerMinute = 6000, GlobalPerSecond = 1000 }));
        var finished = new List<int>();

        // Started in order, as one conversation's sender would; awaited together.
        var turns = Enumerable.Range(0, 20).Select(async n =>
        {
            var waited = await pacer.WaitTurnAsync("-100", CancellationToken.None);
            lock (finished)
            {
                finished.Add(n);
            }
            return waited;
        }).ToList();
        var waited = await Task.WhenAll(turns);

        Assert.All(waited.Take(3), Assert.False);
        Assert.Contains(true, waited);
        Assert.Equal(Enumerable.Range(0, 20), finished);
    }

    [Fact]
    public async Task Different_chats_do_not_wait_for_each_other()
    {
        using var pacer = new TelegramSendPacer(Options.Create(new TelegramOptions { BotToken = "1:x", PerChatRate = 1, GroupPerMinute = 1, GlobalPerSecond = 1000 }));

        Assert.False(await pacer.WaitTurnAsync("1", CancellationToken.None));
        Assert.False(await pacer.WaitTurnAsync("2", CancellationToken.None));
        Assert.False(await pacer.WaitTurnAsync("-1003", CancellationToken.None));
    }
}
