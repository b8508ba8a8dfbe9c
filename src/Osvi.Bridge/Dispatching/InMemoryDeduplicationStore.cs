using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Osvi.Bridge.Dispatching;

/// <summary>De-duplication markers in this process only (no Redis configured); expired marks are swept.</summary>
public sealed class InMemoryDeduplicationStore(IOptions<BridgeOptions> options, TimeProvider time) : IDeduplicationStore
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private readonly TimeSpan _window = options.Value.DeduplicationWindow;
    private long _marks;

    public Task<bool> TryMarkAsync(string platform, string eventId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var key = platform + ":" + eventId;
        if (Interlocked.Increment(ref _marks) % 1024 == 0)
        {
            foreach (var pair in _seen)
            {
                if (pair.Value <= now)
                {
                    _seen.TryRemove(pair);
                }
            }
        }
        while (true)
        {
            if (_seen.TryAdd(key, now + _window))
            {
                return Task.FromResult(true);
            }
            if (_seen.TryGetValue(key, out var expires) && expires > now)
            {
                return Task.FromResult(false);
            }
            _seen.TryRemove(new KeyValuePair<string, DateTimeOffset>(key, expires));
        }
    }

    public Task UnmarkAsync(string platform, string eventId, CancellationToken cancellationToken)
    {
        _seen.TryRemove(platform + ":" + eventId, out _);
        return Task.CompletedTask;
    }
}
