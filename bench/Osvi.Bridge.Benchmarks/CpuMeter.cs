using System.Diagnostics;

namespace Osvi.Bridge.Benchmarks;

/// <summary>Adds up the CPU the bridge, redis-server and this process use while resumed (messages in flight).</summary>
internal sealed class CpuMeter(int bridgePid, int redisPid)
{
    private TimeSpan _bridge;
    private TimeSpan _redis;
    private TimeSpan _driver;
    private TimeSpan _wall;
    private (TimeSpan Bridge, TimeSpan Redis, TimeSpan Driver, long At)? _resumed;

    public void Resume() => _resumed = Now();

    public void Pause()
    {
        if (_resumed is not { } start)
        {
            return;
        }
        var now = Now();
        _bridge += now.Bridge - start.Bridge;
        _redis += now.Redis - start.Redis;
        _driver += now.Driver - start.Driver;
        _wall += Stopwatch.GetElapsedTime(start.At, now.At);
        _resumed = null;
    }

    public CpuUse Use(int messages)
    {
        var machine = _wall.TotalMilliseconds * Environment.ProcessorCount;
        double PerMessage(TimeSpan t) => Math.Round(t.TotalMilliseconds / Math.Max(1, messages), 3);
        double Share(TimeSpan t) => machine <= 0 ? 0 : Math.Round(100 * t.TotalMilliseconds / machine, 1);
        return new CpuUse(PerMessage(_bridge), PerMessage(_redis), PerMessage(_driver), Share(_bridge), Share(_redis), Share(_driver));
    }

    private (TimeSpan Bridge, TimeSpan Redis, TimeSpan Driver, long At) Now()
    {
        using var self = Process.GetCurrentProcess();
        return (ProcessCpu.Of(bridgePid), ProcessCpu.Of(redisPid), self.TotalProcessorTime, Stopwatch.GetTimestamp());
    }
}
