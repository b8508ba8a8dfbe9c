using System.Diagnostics;
using System.Globalization;

namespace Osvi.Bridge.Benchmarks;

/// <summary>
/// The published bridge as its own process (<c>dotnet Osvi.Bridge.dll</c>), configured only by
/// environment variables, its console log written to a file. Killed on dispose.
/// </summary>
internal sealed class BridgeProcess : IAsyncDisposable
{
    private static readonly string[] InheritedPrefixesToDrop =
        ["ASPNETCORE_", "DOTNET_GC", "DOTNET_gc", "Osvi__", "Redis__", "Telegram__", "Slack__", "Bridge__", "Sessions__", "Logging__", "OTEL_"];

    /// <summary>How often <see cref="WaitReadyAsync"/> asks /readyz.</summary>
    public static readonly TimeSpan ReadyPollInterval = TimeSpan.FromMilliseconds(20);

    private readonly Process _process;
    private readonly HttpClient _http;
    private readonly long _started = Stopwatch.GetTimestamp();

    private BridgeProcess(Process process, int port, string logPath)
    {
        _process = process;
        Port = port;
        LogPath = logPath;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(5) };
    }

    public int Pid => _process.Id;

    public int Port { get; }

    public string LogPath { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts the published bridge in <paramref name="bridgeDirectory"/>, or, with <paramref name="floor"/>,
    /// this benchmark's own <see cref="FloorRelay"/> in its place.
    /// </summary>
    public static BridgeProcess Start(string bridgeDirectory, IReadOnlyDictionary<string, string> environment, string logPath, bool floor = false)
    {
        var dll = floor ? typeof(FloorRelay).Assembly.Location : Path.Combine(bridgeDirectory, "Osvi.Bridge.dll");
        if (floor)
        {
            bridgeDirectory = Path.GetDirectoryName(dll)!;
        }
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is missing: publish the bridge or pass --bridge <dir>");
        }
        var port = FreePort.Next();
        // exec: the shell becomes dotnet, so the pid we hold is the bridge's own (for /proc/<pid>/status).
        var start = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            WorkingDirectory = bridgeDirectory,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec dotnet \"$0\" $2 >\"$1\" 2>&1 </dev/null");
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add(logPath);
        start.ArgumentList.Add(floor ? FloorRelay.Argument : "");
        foreach (var key in start.Environment.Keys.Where(k => InheritedPrefixesToDrop.Any(p => k.StartsWith(p, StringComparison.Ordinal))).ToList())
        {
            start.Environment.Remove(key);
        }
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_URLS"] = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("the bridge did not start");
        ChildProcesses.Track(process);
        return new BridgeProcess(process, port, logPath);
    }

    /// <summary>
    /// Polls <c>/readyz</c> every 20 ms until 200 (Redis, OSVI and Telegram all fine); returns the time
    /// from the process start to the first 200.
    /// </summary>
    public async Task<TimeSpan> WaitReadyAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var last = "";
        while (Stopwatch.GetElapsedTime(started) < limit)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The bridge exited with {_process.ExitCode} before it was ready:\n{LogTail(30)}");
            }
            try
            {
                using var response = await _http.GetAsync("readyz", cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return Stopwatch.GetElapsedTime(_started);
                }
                last = await response.Content.ReadAsStringAsync(cancellationToken);
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                last = "readyz timed out";
            }
            await Task.Delay(ReadyPollInterval, cancellationToken);
        }
        throw new TimeoutException($"The bridge was not ready within {limit}: {last}\n{LogTail(30)}");
    }

    /// <summary>The bridge's own Prometheus text, or empty when it cannot be read.</summary>
    public async Task<string> MetricsAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _http.GetStringAsync("metrics", cancellationToken);
        }
        catch (HttpRequestException)
        {
            return "";
        }
    }

    /// <summary>How much the bridge has logged so far; measurements count problems from here on.</summary>
    public long LogLength => File.Exists(LogPath) ? new FileInfo(LogPath).Length : 0;

    /// <summary>Counts log lines at Warning and above after <paramref name="from"/> (the JSON console logger writes "LogLevel":"…").</summary>
    public (int Warnings, int Errors, IReadOnlyList<string> Samples) CountProblemsInLog(long from)
    {
        if (!File.Exists(LogPath))
        {
            return (0, 0, []);
        }
        int warnings = 0, errors = 0;
        var samples = new List<string>();
        using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(Math.Min(from, stream.Length), SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        for (var line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            var warning = line.Contains("\"LogLevel\":\"Warning\"", StringComparison.Ordinal);
            var error = line.Contains("\"LogLevel\":\"Error\"", StringComparison.Ordinal) || line.Contains("\"LogLevel\":\"Critical\"", StringComparison.Ordinal);
            warnings += warning ? 1 : 0;
            errors += error ? 1 : 0;
            if ((warning || error) && samples.Count < 3)
            {
                samples.Add(line.Length > 400 ? line[..400] : line);
            }
        }
        return (warnings, errors, samples);
    }

    public string LogTail(int lines)
    {
        if (!File.Exists(LogPath))
        {
            return "(no log)";
        }
        using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var tail = new Queue<string>(lines);
        for (var line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            if (tail.Count == lines)
            {
                tail.Dequeue();
            }
            tail.Enqueue(line);
        }
        return string.Join('\n', tail);
    }

    /// <summary>
    /// Stops the bridge as an orchestrator does (SIGTERM, then waits for it to exit): it gives back its
    /// leases, so the next process does not wait out their timeout. Returns the exit code.
    /// </summary>
    public async Task<int> TerminateAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        using (var kill = Process.Start("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(cancellationToken);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        ChildProcesses.Kill(_process);
        return ValueTask.CompletedTask;
    }
}
