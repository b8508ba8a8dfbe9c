using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Storage;
using StackExchange.Redis;

namespace Osvi.Bridge.Sessions;

/// <summary>Session map in Redis: shared by replicas and surviving restarts.</summary>
public sealed class RedisSessionStore(IConnectionMultiplexer redis, RedisKeys keys, IOptions<SessionsOptions> options) : ISessionStore
{
    private const string ReleaseScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

    // The session if there is one (its expiry refreshed), else the lock if it is free: one atomic step,
    // so a conversation that has a session never takes (and then has to release) the lock.
    private const string ReadOrLockScript = """
        local id = redis.call('getex', KEYS[1], 'PX', ARGV[1])
        if id then
          return id
        end
        if redis.call('set', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then
          return 1
        end
        return 0
        """;

    private readonly TimeSpan _idle = options.Value.IdleTimeout;
    private int _topology; // 0 not yet known, 1 a single server, 2 a Cluster: one int, read and written whole

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

    public async Task<SessionLockAttempt?> ReadOrTryLockAsync(ConversationKey conversation, TimeSpan ttl, CancellationToken cancellationToken)
    {
        if (!IsCluster)
        {
            return await ReadOrLockAsync(conversation, ttl);
        }
        // On a Cluster the two keys may live in different slots, out of one script's reach: only read.
        var sessionId = await GetAsync(conversation, cancellationToken);
        return sessionId is null ? null : new SessionLockAttempt(null, sessionId);
    }

    public async Task<SessionLockAttempt> TryLockAsync(ConversationKey conversation, TimeSpan ttl, CancellationToken cancellationToken)
    {
        if (!IsCluster)
        {
            return await ReadOrLockAsync(conversation, ttl);
        }
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

    /// <summary>
    /// Whether the keys may be spread over Cluster slots. Until connected it says yes, so nothing is
    /// decided on a guess: the two-key script is used only once a single-node server is confirmed.
    /// </summary>
    private bool IsCluster
    {
        get
        {
            var known = Volatile.Read(ref _topology);
            if (known != 0)
            {
                return known == 2;
            }
            if (!redis.IsConnected)
            {
                return true;
            }
            var cluster = redis.GetServers().Any(s => s.ServerType == ServerType.Cluster);
            Volatile.Write(ref _topology, cluster ? 2 : 1);
            return cluster;
        }
    }

    private async Task<SessionLockAttempt> ReadOrLockAsync(ConversationKey conversation, TimeSpan ttl)
    {
        var lockKey = keys.SessionLock(conversation);
        var sessionKey = keys.Session(conversation);
        var token = Guid.NewGuid().ToString("N");
        var database = redis.GetDatabase();
        var result = await database.ScriptEvaluateAsync(ReadOrLockScript, [sessionKey, lockKey],
            [(long)_idle.TotalMilliseconds, token, (long)ttl.TotalMilliseconds]);
        if (result.Resp2Type == ResultType.BulkString)
        {
            return new SessionLockAttempt(null, AsSessionId((RedisValue)result));
        }
        return (long)result == 1
            ? new SessionLockAttempt(new Lock(database, lockKey, token, sessionKey, _idle), null)
            : new SessionLockAttempt(null, null);
    }

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
