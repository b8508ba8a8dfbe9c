using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Osvi.Bridge.IntegrationTests.Infrastructure;

/// <summary>
/// A real redis-server on a free loopback port, started once per test collection and killed at the end.
/// Tests isolate themselves with their own key prefix (<see cref="NewKeyPrefix"/>).
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private Process? _process;

    public int Port { get; private set; }

    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false";

    public ConnectionMultiplexer? Connection { get; private set; }

    public static string NewKeyPrefix() => $"test-{Guid.NewGuid():N}:";

    public async Task InitializeAsync()
    {
        var executable = FindRedisServer();
        for (var attempt = 0; attempt < 5; attempt++)
        {
            Port = FreePort();
            var info = new ProcessStartInfo(executable)
            {
                ArgumentList = { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no" },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            _process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start");
            _process.OutputDataReceived += (_, _) => { };
            _process.ErrorDataReceived += (_, _) => { };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();

            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                try
                {
                    Connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{Port},connectTimeout=500");
                    await Connection.GetDatabase().PingAsync();
                    return;
                }
                catch (RedisConnectionException)
                {
                    await Task.Delay(50);
                }
            }
            Kill();
        }
        throw new InvalidOperationException("Could not start redis-server on a free port.");
    }

    public Task DisposeAsync()
    {
        Connection?.Dispose();
        Kill();
        return Task.CompletedTask;
    }

    private void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        _process?.Dispose();
        _process = null;
    }

    internal static string FindRedisServer()
    {
        foreach (var candidate in new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException("redis-server is not installed (apt-get install -y redis-server); .ci/run installs it.");
    }

    /// <summary>A loopback port that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>All integration tests share one redis-server.</summary>
[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "redis";
}
