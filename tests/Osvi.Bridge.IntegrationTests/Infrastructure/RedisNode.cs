using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace Osvi.Bridge.IntegrationTests.Infrastructure;

/// <summary>
/// One redis-server process of a test's own, on a free loopback port with its own data directory, that
/// can be stopped and started again on the same port and data (Redis restarts, Cluster nodes).
/// </summary>
public sealed class RedisNode : IDisposable
{
    private readonly string[] _extraArgs;
    private Process? _process;

    private RedisNode(int port, string directory, string[] extraArgs)
    {
        Port = port;
        Directory = directory;
        _extraArgs = extraArgs;
    }

    public int Port { get; }

    public string Directory { get; }

    public string Endpoint => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Starts a node with <paramref name="extraArgs"/> (e.g. <c>--appendonly yes</c>) and waits until it answers PING.</summary>
    public static async Task<RedisNode> StartAsync(params string[] extraArgs)
    {
        var directory = Path.Combine(Path.GetTempPath(), "osvi-redis-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var node = new RedisNode(RedisServerFixture.FreePort(), directory, extraArgs);
        await node.StartAsync();
        return node;
    }

    public async Task StartAsync()
    {
        var info = new ProcessStartInfo(RedisServerFixture.FindRedisServer())
        {
            WorkingDirectory = Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", Directory,
                     "--save", "", "--protected-mode", "no", "--daemonize", "no" }.Concat(_extraArgs))
        {
            info.ArgumentList.Add(arg);
        }
        _process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var probe = await ConnectionMultiplexer.ConnectAsync($"{Endpoint},connectTimeout=500");
                await probe.GetServer(Endpoint).PingAsync();
                return;
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Stops the server the way an orchestrator does (SIGTERM: it writes its append-only file and exits).</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            using (Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
            }
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        _process = null;
    }

    public void Dispose()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        _process?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// A real three-node Redis Cluster (<c>redis-server --cluster-enabled yes</c> on three free ports, joined
/// with <c>redis-cli --cluster create</c>), so the Cluster path is exercised, not assumed.
/// </summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    private readonly List<RedisNode> _nodes = [];

    public string ConnectionString => string.Join(',', _nodes.Select(n => n.Endpoint)) + ",abortConnect=false";

    public ConnectionMultiplexer? Connection { get; private set; }

    public async Task InitializeAsync()
    {
        for (var i = 0; i < 3; i++)
        {
            _nodes.Add(await RedisNode.StartAsync("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--appendonly", "no"));
        }
        var create = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "--cluster", "create" }.Concat(_nodes.Select(n => n.Endpoint)).Concat(["--cluster-replicas", "0", "--cluster-yes"]))
        {
            create.ArgumentList.Add(arg);
        }
        using (var process = Process.Start(create)!)
        {
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException("redis-cli --cluster create failed: " + output + await process.StandardError.ReadToEndAsync());
            }
        }
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            Connection = await ConnectionMultiplexer.ConnectAsync(ConnectionString);
            var states = await Task.WhenAll(_nodes.Select(async n => (string?)(await Connection.GetServer(n.Endpoint).ExecuteAsync("CLUSTER", "INFO"))));
            if (states.All(s => s?.Contains("cluster_state:ok", StringComparison.Ordinal) == true)
                && Connection.GetServers().Count(s => s.ServerType == ServerType.Cluster) == 3)
            {
                return;
            }
            await Connection.DisposeAsync();
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("the Redis Cluster did not become ready");
            }
            await Task.Delay(200);
        }
    }

    /// <summary>How many of the three nodes hold at least one key starting with <paramref name="prefix"/>.</summary>
    public async Task<int> NodesHoldingAsync(string prefix)
    {
        var count = 0;
        foreach (var node in _nodes)
        {
            var keys = await Connection!.GetServer(node.Endpoint).ExecuteAsync("KEYS", prefix + "*");
            count += ((RedisResult[])keys!).Length > 0 ? 1 : 0;
        }
        return count;
    }

    public async Task DisposeAsync()
    {
        if (Connection is not null)
        {
            await Connection.DisposeAsync();
        }
        foreach (var node in _nodes)
        {
            node.Dispose();
        }
    }
}
