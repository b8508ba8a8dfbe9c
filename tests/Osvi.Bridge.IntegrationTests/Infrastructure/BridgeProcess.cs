using System.Collections.Concurrent;
using System.Diagnostics;

namespace Osvi.Bridge.IntegrationTests.Infrastructure;

/// <summary>
/// The bridge as its own process (<c>dotnet Osvi.Bridge.dll …</c> from the app's build output), with
/// environment variables only, stdout and stderr kept apart: what an operator or a container sees.
/// </summary>
public sealed class BridgeProcess : IDisposable
{
    private readonly Process _process;

    private BridgeProcess(Process process) => _process = process;

    public ConcurrentQueue<string> StandardOutput { get; } = new();

    public ConcurrentQueue<string> StandardError { get; } = new();

    public string Errors => string.Join('\n', StandardError);

    public string Output => string.Join('\n', StandardOutput);

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public StreamWriter Input => _process.StandardInput;

    /// <summary>The app's own build output, next to this test assembly's configuration (Debug or Release).</summary>
    public static string AppDirectory()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Osvi.Bridge.sln")))
            {
                var app = Path.Combine(dir.FullName, "src", "Osvi.Bridge", "bin", configuration, "net10.0");
                if (!File.Exists(Path.Combine(app, "Osvi.Bridge.dll")))
                {
                    throw new InvalidOperationException($"Osvi.Bridge.dll not built in {app}");
                }
                return app;
            }
        }
        throw new InvalidOperationException("Osvi.Bridge.sln not found");
    }

    /// <summary>Starts <c>dotnet Osvi.Bridge.dll</c> with <paramref name="args"/>; every setting comes from <paramref name="environment"/>.</summary>
    public static BridgeProcess Start(IEnumerable<string> args, IDictionary<string, string?> environment, string? workingDirectory = null)
    {
        var directory = AppDirectory();
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory ?? directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(directory, "Osvi.Bridge.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        // Nothing of this machine's own settings may satisfy or spoil a key under test.
        foreach (var key in info.Environment.Keys.Where(k => k.Contains("__", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var pair in environment)
        {
            info.Environment[pair.Key] = pair.Value;
        }
        var process = Process.Start(info)!;
        var bridge = new BridgeProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                bridge.StandardOutput.Enqueue(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                bridge.StandardError.Enqueue(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return bridge;
    }

    /// <summary>Runs to the end and returns the exit code (killed and failed after a minute).</summary>
    public static async Task<BridgeProcess> RunAsync(IEnumerable<string> args, IDictionary<string, string?> environment)
    {
        var bridge = Start(args, environment);
        bridge.Input.Close();
        await bridge.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return bridge;
    }

    public async Task WaitForExitAsync(TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the bridge did not exit within {limit}:\n{Output}\n{Errors}");
        }
        // The parameterless wait also drains the redirected output.
        _process.WaitForExit();
    }

    public void Signal(string signal)
    {
        using (Process.Start("kill", [$"-{signal}", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }
}
