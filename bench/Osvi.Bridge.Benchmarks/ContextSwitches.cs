using System.Globalization;

namespace Osvi.Bridge.Benchmarks;

/// <summary>
/// Context switches a process's threads have made so far (voluntary and not), summed over
/// /proc/&lt;pid&gt;/task/*/status. Each is a hand-off between threads or a wait; on shared cores every
/// one is a chance to queue behind someone else, so fewer per message means a shorter tail.
/// </summary>
internal static class ContextSwitches
{
    public static long Of(int pid)
    {
        long total = 0;
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                    {
                        if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal)
                            || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                        {
                            total += long.Parse(line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim(), CultureInfo.InvariantCulture);
                        }
                    }
                }
                catch (IOException)
                {
                    // The thread ended meanwhile.
                }
            }
        }
        catch (IOException)
        {
        }
        return total;
    }
}
