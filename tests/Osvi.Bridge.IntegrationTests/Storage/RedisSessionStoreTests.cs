using Microsoft.Extensions.Options;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Sessions;
using Osvi.Bridge.Storage;
using StackExchange.Redis;

namespace Osvi.Bridge.IntegrationTests.Storage;

/// <summary>The Redis session store against a real redis-server: the creation lock and its one-round-trip steps.</summary>
public sealed class RedisSessionStoreTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private static readonly ConversationKey Chat = ConversationKey.Create("telegram", "7");
    private static readonly TimeSpan LockTtl = TimeSpan.FromSeconds(30);
    private readonly string _prefix = RedisServerFixture.NewKeyPrefix();

    private RedisSessionStore Store() => new(redis.Connection!, new RedisKeys(Options.Create(new RedisOptions { KeyPrefix = _prefix })),
        Options.Create(new SessionsOptions { IdleTimeout = TimeSpan.FromHours(1) }));

    private IDatabase Database => redis.Connection!.GetDatabase();

    [Fact]
    public async Task The_creation_lock_has_one_holder_across_stores()
    {
        var first = await Store().TryLockAsync(Chat, LockTtl, CancellationToken.None);
        Assert.NotNull(first.Lock);
        Assert.Equal(new SessionLockAttempt(null, null), await Store().TryLockAsync(Chat, LockTtl, CancellationToken.None));
        var ttl = await Database.KeyTimeToLiveAsync(_prefix + "lock:session:" + Chat.Value);
        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(25), LockTtl);

        await first.Lock.DisposeAsync();
        Assert.False(await Database.KeyExistsAsync(_prefix + "lock:session:" + Chat.Value));
        var second = await Store().TryLockAsync(Chat, LockTtl, CancellationToken.None);
        Assert.NotNull(second.Lock);
        await second.Lock.DisposeAsync();
    }

    [Fact]
    public async Task Commit_stores_the_session_with_its_idle_expiry_and_releases_the_lock()
    {
        var store = Store();
        var held = (await store.TryLockAsync(Chat, LockTtl, CancellationToken.None)).Lock;
        Assert.NotNull(held);

        await held.CommitAsync("s-1", CancellationToken.None);
        await held.DisposeAsync();

        Assert.False(await Database.KeyExistsAsync(_prefix + "lock:session:" + Chat.Value));
        Assert.Equal("s-1", (string?)await Database.StringGetAsync(_prefix + "session:" + Chat.Value));
        var ttl = await Database.KeyTimeToLiveAsync(_prefix + "session:" + Chat.Value);
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
        Assert.Equal("s-1", await store.GetAsync(Chat, CancellationToken.None));
    }

    [Fact]
    public async Task A_waiter_sees_the_session_the_holder_stored_without_taking_the_lock()
    {
        var holder = (await Store().TryLockAsync(Chat, LockTtl, CancellationToken.None)).Lock!;
        await holder.CommitAsync("s-2", CancellationToken.None);

        // Found at once, lock left free: the waiter need not poll.
        Assert.Equal(new SessionLockAttempt(null, "s-2"), await Store().TryLockAsync(Chat, LockTtl, CancellationToken.None));
        Assert.False(await Database.KeyExistsAsync(_prefix + "lock:session:" + Chat.Value));
    }

    [Fact]
    public async Task Reading_a_stored_session_refreshes_its_expiry_and_leaves_the_lock_free()
    {
        await Database.StringSetAsync(_prefix + "session:" + Chat.Value, "s-3", TimeSpan.FromMinutes(1));

        Assert.Equal(new SessionLockAttempt(null, "s-3"), await Store().ReadOrTryLockAsync(Chat, LockTtl, CancellationToken.None));

        var ttl = await Database.KeyTimeToLiveAsync(_prefix + "session:" + Chat.Value);
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
        Assert.False(await Database.KeyExistsAsync(_prefix + "lock:session:" + Chat.Value));
    }

    [Fact]
    public async Task A_conversation_without_a_session_gets_the_lock_in_the_same_read()
    {
        var first = await Store().ReadOrTryLockAsync(Chat, LockTtl, CancellationToken.None);
        Assert.NotNull(first?.Lock);
        Assert.Null(first.SessionId);
        var ttl = await Database.KeyTimeToLiveAsync(_prefix + "lock:session:" + Chat.Value);
        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(25), LockTtl);

        // A second reader finds neither a session nor a free lock: it is to wait for the holder.
        Assert.Equal(new SessionLockAttempt(null, null), await Store().ReadOrTryLockAsync(Chat, LockTtl, CancellationToken.None));

        await first.Lock.CommitAsync("s-4", CancellationToken.None);
        Assert.Equal(new SessionLockAttempt(null, "s-4"), await Store().ReadOrTryLockAsync(Chat, LockTtl, CancellationToken.None));
        Assert.False(await Database.KeyExistsAsync(_prefix + "lock:session:" + Chat.Value));
    }

    [Fact]
    public async Task A_lock_taken_over_after_expiry_is_not_released_by_its_first_holder()
    {
        var stale = (await Store().TryLockAsync(Chat, TimeSpan.FromMilliseconds(100), CancellationToken.None)).Lock!;
        await Task.Delay(300);
        var current = (await Store().TryLockAsync(Chat, LockTtl, CancellationToken.None)).Lock;
        Assert.NotNull(current);

        await stale.DisposeAsync();

        Assert.True(await Database.KeyExistsAsync(_prefix + "lock:session:" + Chat.Value));
        await current.DisposeAsync();
    }
}
