using System.Diagnostics;

namespace Osvi.Bridge.Benchmarks;

/// <summary>
/// A thread in the benchmark process that asks to sleep 1 ms, over and over, and notes every time it
/// woke up at least <see cref="Threshold"/> late. Such a stall is the machine's, not the bridge's: the
/// benchmark's own thread could not run either (vCPU taken away, a neighbour's burst). Its own GCs are
/// told apart by counting them.
/// </summary>
internal sealed class StallMonitor : IDisposable
{
    public static readonly TimeSpan Threshold = TimeSpan.FromMilliseconds(3);

    private readonly Thread _thread;
    private readonly List<(long Start, long End)> _stalls = [];
    private volatile bool _stopped;
    private int _ownGcs;

    public StallMonitor()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "stall monitor", Priority = ThreadPriority.AboveNormal };
        _thread.Start();
    }

    /// <summary>Stalls seen so far, as Stopwatch timestamps (start, end).</summary>
    public IReadOnlyList<(long Start, long End)> Stalls
    {
        get
        {
            lock (_stalls)
            {
                return [.. _stalls];
            }
        }
    }

    /// <summary>Stalls during which the benchmark process itself collected garbage (not the machine's fault).</summary>
    public int StallsWithOwnGc => Volatile.Read(ref _ownGcs);

    public void Dispose()
    {
        _stopped = true;
        _thread.Join();
    }

    private void Run()
    {
        var threshold = (long)(Threshold.TotalSeconds * Stopwatch.Frequency);
        var expected = (long)(0.001 * Stopwatch.Frequency);
        while (!_stopped)
        {
            var gcs = GC.CollectionCount(0);
            var before = Stopwatch.GetTimestamp();
            Thread.Sleep(1);
            var after = Stopwatch.GetTimestamp();
            if (after - before - expected >= threshold)
            {
                if (GC.CollectionCount(0) != gcs)
                {
                    Interlocked.Increment(ref _ownGcs);
                }
                lock (_stalls)
                {
                    _stalls.Add((before + expected, after));
                }
            }
        }
    }
}
