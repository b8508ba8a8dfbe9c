using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Storage;
using StackExchange.Redis;

namespace Osvi.Bridge.Sessions;

/// <summary>Session map in Redis: shared by replicas and surviving restarts.</summary>
public sealed class RedisSessionStore(IConnectionMultiplexer redis, RedisKeys keys, IOptions<SessionsOptions> options) : ISessionStore
{
    private const string ReleaseScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
    private readonly TimeSpan _idle = options.Value.IdleTimeout;

    public async Task<string?> GetAsync(ConversationKey conversation, CancellationToken cancellationToken)
    {
        // GETEX reads and refreshes the idle expiry in one round trip.
        var value = await redis.GetDatabase().StringGetSetExpiryAsync(keys.Session(conversation), _idle);
        return value.IsNullOrEmpty ? null : value.ToString();
    }

    public Task SetAsync(ConversationKey conversation, string sessionId, CancellationToken cancellationToken) =>
        redis.GetDatabase().StringSetAsync(keys.Session(conversation), sessionId, _idle);

    public async Task<string?> RemoveAsync(ConversationKey conversation, CancellationToken cancellationToken)
    {
        var value = await redis.GetDatabase().StringGetDeleteAsync(keys.Session(conversation));
        return value.IsNullOrEmpty ? null : value.ToString();
    }

    public async Task<IAsyncDisposable?> TryLockAsync(ConversationKey conversation, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var key = keys.SessionLock(conversation);
        var token = Guid.NewGuid().ToString("N");
        var database = redis.GetDatabase();
        var taken = await database.StringSetAsync(key, token, ttl, When.NotExists);
        return taken ? new Lock(database, key, token) : null;
    }

    private sealed class Lock(IDatabase database, RedisKey key, string token) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() =>
            await database.ScriptEvaluateAsync(ReleaseScript, [key], [token]);
    }
}
