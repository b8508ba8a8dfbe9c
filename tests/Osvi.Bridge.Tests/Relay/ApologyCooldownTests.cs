using Microsoft.Extensions.Time.Testing;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Relay;

namespace Osvi.Bridge.Tests.Relay;

public sealed class ApologyCooldownTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private static readonly ConversationKey Alice = ConversationKey.Create("telegram", "1", "42");
    private static readonly ConversationKey Bob = ConversationKey.Create("telegram", "1", "43");

    [Fact]
    public void A_conversation_gets_the_apology_again_only_after_the_cooldown()
    {
        var cooldown = new ApologyCooldown(TimeSpan.FromMinutes(5), _time);

        Assert.True(cooldown.TryTake(Alice));
        Assert.False(cooldown.TryTake(Alice));
        Assert.True(cooldown.TryTake(Bob));
        _time.Advance(TimeSpan.FromMinutes(4));
        Assert.False(cooldown.TryTake(Alice));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(cooldown.TryTake(Alice));
    }

    [Fact]
    public void An_answer_in_between_ends_the_cooldown()
    {
        var cooldown = new ApologyCooldown(TimeSpan.FromMinutes(5), _time);
        Assert.True(cooldown.TryTake(Alice));

        cooldown.Forget(Alice);

        Assert.True(cooldown.TryTake(Alice));
    }

    [Fact]
    public void Memory_stays_bounded_and_beyond_it_the_apology_is_sent_rather_than_withheld()
    {
        var cooldown = new ApologyCooldown(TimeSpan.FromMinutes(5), _time);
        for (var i = 0; i < ApologyCooldown.Capacity; i++)
        {
            Assert.True(cooldown.TryTake(ConversationKey.Create("slack", "T1", "C" + i)));
        }
        var extra = ConversationKey.Create("slack", "T1", "extra");

        Assert.True(cooldown.TryTake(extra));
        Assert.True(cooldown.TryTake(extra));

        // Swept once the entries expired: the newcomer is remembered again.
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.True(cooldown.TryTake(extra));
        Assert.False(cooldown.TryTake(extra));
    }
}
