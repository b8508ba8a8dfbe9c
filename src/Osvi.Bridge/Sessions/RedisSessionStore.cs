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
        return AsSessionId(value);
    }

    public Task SetAsync(ConversationKey conversation, string sessionId, CancellationToken cancellationToken) =>
        redis.GetDatabase().StringSetAsync(keys.Session(conversation), sessionId, _idle);

    public async Task<string?> RemoveAsync(ConversationKey conversation, CancellationToken cancellationToken)
    {
        var value = await redis.GetDatabase().StringGetDeleteAsync(keys.Session(conversation));
        return AsSessionId(value);
    }

    public async Task<SessionLockAttempt> TryLockAsync(ConversationKey conversation, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var lockKey = keys.SessionLock(conversation);
        var sessionKey = keys.Session(conversation);
        var token = Guid.NewGuid().ToString("N");
        var database = redis.GetDatabase();
        // One pipelined round trip on the first message's path. The two keys may live in different
        // Cluster slots, so this is a batch, not a script; Redis runs a connection's commands in order,
        // so the read sees everything stored before the lock was taken.
        var batch = database.CreateBatch();
        var taken = batch.StringSetAsync(lockKey, token, ttl, When.NotExists);
        var existing = batch.StringGetSetExpiryAsync(sessionKey, _idle);
        batch.Execute();
        var sessionId = AsSessionId(await existing);
        if (!await taken)
        {
            return new SessionLockAttempt(null, sessionId);
        }
        var held = new Lock(database, lockKey, token, sessionKey, _idle);
        if (sessionId is not null)
        {
            await held.DisposeAsync();
            return new SessionLockAttempt(null, sessionId);
        }
        return new SessionLockAttempt(held, null);
    }

    private static string? AsSessionId(RedisValue value) => value.IsNullOrEmpty ? null : value.ToString();

    private sealed class Lock(IDatabase database, RedisKey key, string token, RedisKey sessionKey, TimeSpan idle) : ISessionCreationLock
    {
        private int _released;

        public async Task CommitAsync(string sessionId, CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                throw new InvalidOperationException("The creation lock was already released.");
            }
            var batch = database.CreateBatch();
            var stored = batch.StringSetAsync(sessionKey, sessionId, idle);
            var released = batch.ScriptEvaluateAsync(ReleaseScript, [key], [token]);
            batch.Execute();
            await Task.WhenAll(stored, released);
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                await database.ScriptEvaluateAsync(ReleaseScript, [key], [token]);
            }
        }
    }
}
