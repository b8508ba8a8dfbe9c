using StackExchange.Redis;

namespace Osvi.Bridge.Storage;

/// <summary>
/// A lease in Redis: <c>SET key owner NX PX ttl</c> to take it, and compare-and-set scripts to renew
/// or give it back only while it is still ours. Used for the inbox's partitions and the Telegram poller.
/// </summary>
public static class RedisLease
{
    private const string RenewScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
    private const string ReleaseScript = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

    public static Task<bool> TryAcquireAsync(IDatabase database, RedisKey key, string owner, TimeSpan ttl)
    {
        ArgumentNullException.ThrowIfNull(database);
        return database.StringSetAsync(key, owner, ttl, When.NotExists);
    }

    /// <summary>Extends the lease; false when it is no longer ours (it expired and someone else may hold it).</summary>
    public static async Task<bool> RenewAsync(IDatabase database, RedisKey key, string owner, TimeSpan ttl)
    {
        ArgumentNullException.ThrowIfNull(database);
        var result = await database.ScriptEvaluateAsync(RenewScript, [key], [owner, (long)ttl.TotalMilliseconds]);
        return (long)result == 1;
    }

    /// <summary>Gives the lease back if it is still ours.</summary>
    public static async Task ReleaseAsync(IDatabase database, RedisKey key, string owner)
    {
        ArgumentNullException.ThrowIfNull(database);
        await database.ScriptEvaluateAsync(ReleaseScript, [key], [owner]);
    }
}
