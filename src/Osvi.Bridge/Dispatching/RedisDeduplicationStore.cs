using Microsoft.Extensions.Options;
using Osvi.Bridge.Storage;
using StackExchange.Redis;

namespace Osvi.Bridge.Dispatching;

/// <summary>De-duplication markers in Redis (<c>SET NX EX</c>): shared by replicas, kept across restarts.</summary>
public sealed class RedisDeduplicationStore(IConnectionMultiplexer redis, RedisKeys keys, IOptions<BridgeOptions> options) : IDeduplicationStore
{
    private readonly TimeSpan _window = options.Value.DeduplicationWindow;

    public Task<bool> TryMarkAsync(string platform, string eventId, CancellationToken cancellationToken) =>
        redis.GetDatabase().StringSetAsync(keys.Seen(platform, eventId), "1", _window, When.NotExists);

    public Task UnmarkAsync(string platform, string eventId, CancellationToken cancellationToken) =>
        redis.GetDatabase().KeyDeleteAsync(keys.Seen(platform, eventId));
}
