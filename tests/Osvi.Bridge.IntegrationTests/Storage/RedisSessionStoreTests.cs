using Microsoft.Extensions.Options;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Sessions;
using Osvi.Bridge.Storage;
using StackExchange.Redis;

namespace Osvi.Bridge.IntegrationTests.Storage;

/// <summary>The Redis session store against a real redis-server.</summary>
public sealed class RedisSessionStoreTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private static readonly ConversationKey Chat = ConversationKey.Create("telegram", "7");
    private readonly string _prefix = RedisServerFixture.NewKeyPrefix();

    private RedisSessionStore Store() => new(redis.Connection!, new RedisKeys(Options.Create(new RedisOptions { KeyPrefix = _prefix })),
        Options.Create(new SessionsOptions { IdleTimeout = TimeSpan.FromHours(1) }));

    private IDatabase Database => redis.Connection!.GetDatabase();

    [Fact]
    public async Task The_first_session_added_is_kept_across_stores_with_its_idle_expiry()
    {
        Assert.Equal("s1", await Store().AddAsync(Chat, "s1", CancellationToken.None));
        Assert.Equal("s1", await Store().AddAsync(Chat, "s2", CancellationToken.None));

        Assert.Equal("s1", (await Database.StringGetAsync(_prefix + "session:telegram:7")).ToString());
        Assert.InRange((await Database.KeyTimeToLiveAsync(_prefix + "session:telegram:7"))!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task Reading_a_session_refreshes_its_expiry_and_remove_forgets_it()
    {
        var store = Store();
        await store.AddAsync(Chat, "s1", CancellationToken.None);
        await Database.KeyExpireAsync(_prefix + "session:telegram:7", TimeSpan.FromMinutes(1));

        Assert.Equal("s1", await store.GetAsync(Chat, CancellationToken.None));
        Assert.True((await Database.KeyTimeToLiveAsync(_prefix + "session:telegram:7"))!.Value > TimeSpan.FromMinutes(59));

        Assert.Equal("s1", await store.RemoveAsync(Chat, CancellationToken.None));
        Assert.Null(await store.GetAsync(Chat, CancellationToken.None));
        Assert.Null(await store.RemoveAsync(Chat, CancellationToken.None));
    }
}
