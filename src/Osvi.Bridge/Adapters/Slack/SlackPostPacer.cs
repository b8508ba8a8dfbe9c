using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// Keeps <c>chat.postMessage</c> near Slack's one message per second per channel: a token bucket per
/// channel (<see cref="SlackOptions.PostBurst"/> at once, then <see cref="SlackOptions.PostsPerSecondPerChannel"/>).
/// Each caller reserves its slot under a lock, so later callers never get earlier slots and a
/// channel's messages keep their order. Answers and progress share one budget per channel, answers
/// first: an answer waits for its slot (<see cref="WaitTurnAsync"/>), progress takes one only when
/// it is free right now (<see cref="TryTakeNow"/>) and otherwise is not shown.
/// </summary>
public sealed class SlackPostPacer
{
    private readonly SlackOptions _options;
    private readonly TimeProvider _time;
    private const int SweepEvery = 1024;
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private long _calls;

    /// <summary>Channels with a bucket right now (for tests of the sweep).</summary>
    internal int TrackedChannels => _buckets.Count;

    public SlackPostPacer(IOptions<SlackOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
    }

    /// <summary>
    /// Takes a slot only if one is free at once (never queues ahead of, or behind, waiting answers):
    /// for progress, which is worth showing only when it costs an answer nothing.
    /// </summary>
    public bool TryTakeNow(string channel)
    {
        var bucket = BucketOf(channel);
        lock (bucket)
        {
            Refill(bucket);
            if (bucket.Tokens < 1)
            {
                return false;
            }
            bucket.Tokens -= 1;
            return true;
        }
    }

    public Task WaitTurnAsync(string channel, CancellationToken cancellationToken)
    {
        var bucket = BucketOf(channel);
        TimeSpan wait;
        lock (bucket)
        {
            Refill(bucket);
            // Tokens may go negative: that debt is the queue of callers already waiting.
            bucket.Tokens -= 1;
            wait = bucket.Tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-bucket.Tokens / _options.PostsPerSecondPerChannel);
        }
        return wait == TimeSpan.Zero ? Task.CompletedTask : Task.Delay(wait, _time, cancellationToken);
    }

    private Bucket BucketOf(string channel)
    {
        if (Interlocked.Increment(ref _calls) % SweepEvery == 0)
        {
            SweepIdle();
        }
        return _buckets.GetOrAdd(channel, _ => new Bucket(_options.PostBurst, _time.GetTimestamp()));
    }

    private void Refill(Bucket bucket)
    {
        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(bucket.UpdatedAt, now).TotalSeconds;
        bucket.Tokens = Math.Min(_options.PostBurst, bucket.Tokens + (elapsed * _options.PostsPerSecondPerChannel));
        bucket.UpdatedAt = now;
    }

    /// <summary>
    /// Forgets channels whose bucket has refilled: a new bucket starts full, so nothing changes for
    /// them, and a long-running bridge does not keep one entry per channel it ever answered in.
    /// </summary>
    private void SweepIdle()
    {
        var now = _time.GetTimestamp();
        var refill = TimeSpan.FromSeconds(_options.PostBurst / _options.PostsPerSecondPerChannel);
        foreach (var pair in _buckets)
        {
            lock (pair.Value)
            {
                if (_time.GetElapsedTime(pair.Value.UpdatedAt, now) > refill && pair.Value.Tokens >= 0)
                {
                    _buckets.TryRemove(pair);
                }
            }
        }
    }

    private sealed class Bucket(double tokens, long updatedAt)
    {
        public double Tokens { get; set; } = tokens;
        public long UpdatedAt { get; set; } = updatedAt;
    }
}
