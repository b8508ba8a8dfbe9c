using System.Globalization;

namespace Osvi.Bridge.Benchmarks;

/// <summary>User + system CPU time a process has used so far, from /proc/&lt;pid&gt;/stat.</summary>
internal static class ProcessCpu
{
    // USER_HZ is 100 on every Linux the benchmark targets.
    private const double TicksPerSecond = 100;

    public static TimeSpan Of(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) may hold spaces; fields after its closing parenthesis are plain.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
            var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds((utime + stime) / TicksPerSecond);
        }
        catch (IOException)
        {
            return TimeSpan.Zero;
        }
    }
}
