using System.Diagnostics;

namespace Osvi.Bridge.Benchmarks;

/// <summary>
/// A fixed CPU task (sorting the same million integers), timed just before a scenario is measured.
/// On a shared machine the cores are not always equally fast: when this takes longer, every figure
/// of that scenario is slower too, and the report shows it beside them.
/// </summary>
internal static class MachineSpeed
{
    private const int Count = 1_000_000;

    public static double SortMs()
    {
        var source = new int[Count];
        var random = new Random(42);
        for (var i = 0; i < source.Length; i++)
        {
            source[i] = random.Next();
        }
        var work = new int[Count];
        var best = double.MaxValue;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            source.CopyTo(work, 0);
            var started = Stopwatch.GetTimestamp();
            Array.Sort(work);
            best = Math.Min(best, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        return Math.Round(best, 1);
    }
}
