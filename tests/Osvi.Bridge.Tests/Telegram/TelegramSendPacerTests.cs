using Microsoft.Extensions.Options;
using Osvi.Bridge.Adapters.Telegram;

namespace Osvi.Bridge.Tests.Telegram;

public sealed class TelegramSendPacerTests
{
    [Fact]
    public async Task Sends_to_one_group_beyond_the_burst_wait_for_their_turn()
    {
        using var pacer = new TelegramSendPacer(Options.Create(new TelegramOptions { BotToken = "1:x", GroupPerMinute = 6000, GlobalPerSecond = 1000 }));
        var waited = new List<bool>();

        // One conversation sends its parts one after another.
        for (var i = 0; i < 10; i++)
        {
            waited.Add(await pacer.WaitTurnAsync("-100", CancellationToken.None));
        }

        Assert.All(waited.Take(3), Assert.False);
        Assert.Contains(true, waited);
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
