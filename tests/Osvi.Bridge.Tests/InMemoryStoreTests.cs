using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Sessions;

namespace Osvi.Bridge.Tests;

public sealed class InMemoryStoreTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private static readonly ConversationKey Chat = ConversationKey.Create("telegram", "1", "42");

    private InMemorySessionStore Sessions() => new(
        Options.Create(new SessionsOptions { IdleTimeout = TimeSpan.FromHours(1) }), _time, NullLogger<InMemorySessionStore>.Instance);

    [Fact]
    public async Task A_session_expires_after_the_idle_timeout_unless_used()
    {
        var store = Sessions();
        await store.SetAsync(Chat, "s1", CancellationToken.None);

        _time.Advance(TimeSpan.FromMinutes(50));
        Assert.Equal("s1", await store.GetAsync(Chat, CancellationToken.None));
        _time.Advance(TimeSpan.FromMinutes(50));
        Assert.Equal("s1", await store.GetAsync(Chat, CancellationToken.None));
        _time.Advance(TimeSpan.FromMinutes(61));
        Assert.Null(await store.GetAsync(Chat, CancellationToken.None));
    }

    [Fact]
    public async Task Remove_returns_the_forgotten_session()
    {
        var store = Sessions();
        await store.SetAsync(Chat, "s1", CancellationToken.None);

        Assert.Equal("s1", await store.RemoveAsync(Chat, CancellationToken.None));
        Assert.Null(await store.RemoveAsync(Chat, CancellationToken.None));
    }

    [Fact]
    public async Task The_creation_lock_has_one_holder_at_a_time()
    {
        var store = Sessions();
        var first = await store.TryLockAsync(Chat, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.NotNull(first.Lock);
        Assert.Equal(new SessionLockAttempt(null, null), await store.TryLockAsync(Chat, TimeSpan.FromSeconds(5), CancellationToken.None));

        await first.Lock.DisposeAsync();
        var second = await store.TryLockAsync(Chat, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.NotNull(second.Lock);
        await second.Lock.DisposeAsync();
    }

    [Fact]
    public async Task Committing_stores_the_session_and_frees_the_lock_for_readers_of_it()
    {
        var store = Sessions();
        var held = (await store.TryLockAsync(Chat, TimeSpan.FromSeconds(5), CancellationToken.None)).Lock;
        Assert.NotNull(held);

        await held.CommitAsync("s1", CancellationToken.None);
        await held.DisposeAsync();

        Assert.Equal(new SessionLockAttempt(null, "s1"), await store.TryLockAsync(Chat, TimeSpan.FromSeconds(5), CancellationToken.None));
        // The attempt found the session, so it did not keep the lock.
        Assert.Null((await store.TryLockAsync(Chat, TimeSpan.FromSeconds(5), CancellationToken.None)).Lock);
    }

    [Fact]
    public async Task A_duplicate_is_recognized_within_the_window_only()
    {
        var store = new InMemoryDeduplicationStore(Options.Create(new BridgeOptions { DeduplicationWindow = TimeSpan.FromMinutes(10) }), _time);

        Assert.True(await store.TryMarkAsync("telegram", "7", CancellationToken.None));
        Assert.False(await store.TryMarkAsync("telegram", "7", CancellationToken.None));
        Assert.True(await store.TryMarkAsync("slack", "7", CancellationToken.None));
        _time.Advance(TimeSpan.FromMinutes(11));
        Assert.True(await store.TryMarkAsync("telegram", "7", CancellationToken.None));
        await store.UnmarkAsync("telegram", "7", CancellationToken.None);
        Assert.True(await store.TryMarkAsync("telegram", "7", CancellationToken.None));
    }

    [Theory]
    [InlineData(null, "(not set)")]
    [InlineData("short", "(set)")]
    [InlineData("123456:ABCDEFGHIJKLMN", "…KLMN")]
    public void Secrets_show_at_most_their_last_four_characters(string? secret, string expected) =>
        Assert.Equal(expected, CheckCommand.Mask(secret));

    [Fact]
    public void Conversation_keys_skip_missing_parts()
    {
        Assert.Equal("telegram:1:42", ConversationKey.Create("telegram", "1", "42", null).Value);
        Assert.Equal("slack:T1:C1:171.2", ConversationKey.Create("slack", "T1", "C1", "171.2").Value);
        Assert.Throws<ArgumentException>(() => new ConversationKey(" "));
    }
}
