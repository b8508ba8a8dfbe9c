using System.Runtime.InteropServices;

namespace Osvi.Bridge.Benchmarks;

/// <summary>Where the numbers were taken.</summary>
internal sealed record MachineInfo(int Cores, string Cpu, double MemoryGb, string Os, string Kernel, string DotNet)
{
    public static MachineInfo Current()
    {
        var cpu = ReadField("/proc/cpuinfo", "model name", ':') ?? RuntimeInformation.ProcessArchitecture.ToString();
        var memKb = ReadField("/proc/meminfo", "MemTotal", ':') is { } m && long.TryParse(m.Replace("kB", "", StringComparison.Ordinal).Trim(), out var kb) ? kb : 0;
        var os = ReadField("/etc/os-release", "PRETTY_NAME", '=')?.Trim('"') ?? RuntimeInformation.OSDescription;
        return new MachineInfo(Environment.ProcessorCount, cpu, Math.Round(memKb / 1024.0 / 1024.0, 1), os,
            RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription);
    }

    public override string ToString() => $"{Cores} cores ({Cpu}), {MemoryGb} GB RAM, {Os} ({Kernel}), {DotNet}";

    private static string? ReadField(string path, string key, char separator)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        foreach (var line in File.ReadLines(path))
        {
            var at = line.IndexOf(separator, StringComparison.Ordinal);
            if (at > 0 && line[..at].Trim() == key)
            {
                return line[(at + 1)..].Trim();
            }
        }
        return null;
    }
}
