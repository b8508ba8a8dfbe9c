using System.Collections.Concurrent;
using System.Diagnostics;

namespace Osvi.Bridge.Benchmarks;

/// <summary>
/// Every process the benchmark started (bridge, redis-server), killed when the benchmark ends by
/// any way .NET can see: normal end, an exception, Ctrl+C or SIGTERM.
/// </summary>
internal static class ChildProcesses
{
    private static readonly ConcurrentDictionary<int, Process> Running = new();

    static ChildProcesses()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    public static void Track(Process process) => Running[process.Id] = process;

    public static void Kill(Process process)
    {
        Running.TryRemove(process.Id, out _);
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        process.Dispose();
    }

    public static void KillAll()
    {
        foreach (var process in Running.Values)
        {
            Kill(process);
        }
    }
}
