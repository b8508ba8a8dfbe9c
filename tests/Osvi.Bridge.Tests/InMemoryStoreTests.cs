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
        await store.AddAsync(Chat, "s1", CancellationToken.None);

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
        await store.AddAsync(Chat, "s1", CancellationToken.None);

        Assert.Equal("s1", await store.RemoveAsync(Chat, CancellationToken.None));
        Assert.Null(await store.RemoveAsync(Chat, CancellationToken.None));
    }

    [Fact]
    public async Task Adding_keeps_the_first_session_of_a_conversation()
    {
        var store = Sessions();

        Assert.Equal("s1", await store.AddAsync(Chat, "s1", CancellationToken.None));
        Assert.Equal("s1", await store.AddAsync(Chat, "s2", CancellationToken.None));
        _time.Advance(TimeSpan.FromMinutes(61));
        Assert.Equal("s3", await store.AddAsync(Chat, "s3", CancellationToken.None));
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
