using System.Diagnostics;
using System.Globalization;

namespace Osvi.Bridge.Benchmarks;

/// <summary>Reads VmRSS and VmHWM of a process from /proc/&lt;pid&gt;/status every 100 ms.</summary>
internal sealed class RssSampler : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly int _pid;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<(long Timestamp, long RssKb)> _samples = [];
    private long _peakRssKb;
    private long _hwmKb;
    private long _peakAnonKb;

    public RssSampler(int pid)
    {
        _pid = pid;
        _loop = RunAsync(_stop.Token);
    }

    /// <summary>The highest VmRSS sampled and the kernel's own high-water mark (VmHWM), whichever is larger.</summary>
    public long PeakKb => Math.Max(Volatile.Read(ref _peakRssKb), Volatile.Read(ref _hwmKb));

    /// <summary>The highest RssAnon sampled: private memory (GC heaps, native allocations, stacks), without mapped files and JIT code.</summary>
    public long PeakAnonKb => Volatile.Read(ref _peakAnonKb);

    /// <summary>VmRSS now (read directly, not the last sample).</summary>
    public long CurrentKb => Read().RssKb;

    /// <summary>The median VmRSS sampled since <paramref name="since"/> (Stopwatch timestamp).</summary>
    public long MedianSinceKb(long since)
    {
        List<long> values;
        lock (_samples)
        {
            values = _samples.Where(s => s.Timestamp >= since).Select(s => s.RssKb).Order().ToList();
        }
        return values.Count == 0 ? CurrentKb : values[values.Count / 2];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Interval);
        // Bounded: 10 samples a second for at most an hour.
        for (var i = 0; i < 36_000 && await timer.WaitForNextTickAsync(cancellationToken); i++)
        {
            var (rss, hwm, anon) = Read();
            if (rss == 0)
            {
                return;
            }
            lock (_samples)
            {
                _samples.Add((Stopwatch.GetTimestamp(), rss));
            }
            if (rss > _peakRssKb)
            {
                Volatile.Write(ref _peakRssKb, rss);
            }
            if (anon > _peakAnonKb)
            {
                Volatile.Write(ref _peakAnonKb, anon);
            }
            if (hwm > _hwmKb)
            {
                Volatile.Write(ref _hwmKb, hwm);
            }
        }
    }

    private (long RssKb, long HwmKb, long AnonKb) Read()
    {
        try
        {
            long rss = 0, hwm = 0, anon = 0;
            foreach (var line in File.ReadLines($"/proc/{_pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = ParseKb(line);
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    hwm = ParseKb(line);
                }
                else if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                {
                    anon = long.Parse(line.AsSpan(8).Trim().TrimEnd("kB").Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture);
                }
            }
            return (rss, hwm, anon);
        }
        catch (IOException)
        {
            return (0, 0, 0);
        }
    }

    private static long ParseKb(string line) =>
        long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture);
}
