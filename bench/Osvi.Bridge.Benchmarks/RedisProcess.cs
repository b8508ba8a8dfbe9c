using System.Diagnostics;

namespace Osvi.Bridge.Benchmarks;

/// <summary>A fresh, empty <c>redis-server</c> on a free 127.0.0.1 port, without persistence.</summary>
internal sealed class RedisProcess : IAsyncDisposable
{
    public const string Executable = "/usr/bin/redis-server";

    private readonly Process _process;

    private RedisProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public int Pid => _process.Id;

    public string ConnectionString => $"127.0.0.1:{Port}";

    public static async Task<RedisProcess> StartAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException($"{Executable} is missing: apt-get install -y redis-server");
        }
        var port = FreePort.Next();
        var start = new ProcessStartInfo(Executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning", "--maxclients", "10000" })
        {
            start.ArgumentList.Add(arg);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        ChildProcesses.Track(process);
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var redis = new RedisProcess(process, port);
        try
        {
            await redis.WaitForPingAsync(cancellationToken);
        }
        catch
        {
            await redis.DisposeAsync();
            throw;
        }
        return redis;
    }

    public Task<long> TotalCommandsAsync(CancellationToken cancellationToken) => RespClient.TotalCommandsAsync(Port, cancellationToken);

    public ValueTask DisposeAsync()
    {
        ChildProcesses.Kill(_process);
        return ValueTask.CompletedTask;
    }

    private async Task WaitForPingAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with {_process.ExitCode}");
            }
            try
            {
                if (await RespClient.CommandAsync(Port, cancellationToken, "PING") == "PONG")
                {
                    return;
                }
            }
            catch (System.Net.Sockets.SocketException)
            {
                // Not listening yet.
            }
            await Task.Delay(50, cancellationToken);
        }
        throw new TimeoutException("redis-server did not answer PING within 5 s");
    }
}
