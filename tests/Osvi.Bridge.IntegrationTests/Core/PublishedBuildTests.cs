using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.IntegrationTests.Slack;

namespace Osvi.Bridge.IntegrationTests.Core;

/// <summary>
/// The build the container runs: published with the Dockerfile's exact command, started as its own
/// process with environment variables only, probed, and stopped with SIGTERM.
/// </summary>
public sealed class PublishedBuildTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private static readonly SemaphoreSlim PublishOnce = new(1, 1);
    private static string? _published;
    private FakeOsviServer _osvi = null!;
    private FakeSlackServer _slack = null!;

    public async Task InitializeAsync()
    {
        _osvi = await FakeOsviServer.StartAsync();
        _slack = await FakeSlackServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _slack.DisposeAsync();
        await _osvi.DisposeAsync();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Osvi.Bridge.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Osvi.Bridge.sln not found");
    }

    /// <summary>Runs the Dockerfile's publish command (kept identical on purpose) once per test run.</summary>
    private static async Task<string> PublishAsync()
    {
        await PublishOnce.WaitAsync();
        try
        {
            if (_published is not null)
            {
                return _published;
            }
            var output = Path.Combine(Path.GetTempPath(), "osvi-bridge-publish-" + Guid.NewGuid().ToString("N"));
            var dockerfile = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "Dockerfile"));
            const string command = "dotnet publish src/Osvi.Bridge/Osvi.Bridge.csproj -c Release -o /app /p:UseAppHost=false";
            Assert.Contains("RUN " + command, dockerfile, StringComparison.Ordinal);

            var (code, log) = await RunAsync("dotnet",
                ["publish", "src/Osvi.Bridge/Osvi.Bridge.csproj", "-c", "Release", "-o", output, "/p:UseAppHost=false"],
                RepositoryRoot(), new Dictionary<string, string?>(), TimeSpan.FromMinutes(5));
            Assert.True(code == 0, "dotnet publish failed:\n" + log);
            _published = output;
            return output;
        }
        finally
        {
            PublishOnce.Release();
        }
    }

    private Dictionary<string, string?> Environment(int port) => new()
    {
        ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
        ["DOTNET_ENVIRONMENT"] = "Production",
        ["Osvi__BaseUrl"] = _osvi.BaseUrl,
        ["Osvi__ApiToken"] = FakeOsviServer.Token,
        ["Osvi__AgentUuid"] = FakeOsviServer.Agent,
        ["Redis__ConnectionString"] = redis.ConnectionString,
        ["Redis__KeyPrefix"] = RedisServerFixture.NewKeyPrefix(),
        ["Telegram__BotToken"] = "",
        ["Slack__BotToken"] = FakeSlackServer.BotToken,
        ["Slack__AppToken"] = "",
        ["Slack__SigningSecret"] = "published-build-signing-secret",
        ["Slack__ApiBaseUrl"] = _slack.ApiBaseUrl,
    };

    [Fact]
    public async Task The_published_build_starts_from_environment_variables_answers_health_probes_and_exits_0_on_SIGTERM()
    {
        var published = await PublishAsync();
        var port = RedisServerFixture.FreePort();
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var bridge = Start(published, ["Osvi.Bridge.dll"], Environment(port), log);
        try
        {
            using var http = new HttpClient();
            var healthy = false;
            for (var i = 0; i < 300 && !healthy && !bridge.HasExited; i++)
            {
                try
                {
                    healthy = (await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"))).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(100);
                }
            }
            Assert.True(healthy, "the bridge never answered /healthz:\n" + string.Join('\n', log));
            await Eventually.HoldsAsync(() => http.GetAsync(new Uri($"http://127.0.0.1:{port}/readyz")).Result.StatusCode == HttpStatusCode.OK, "/readyz 200");

            var (probe, probeOutput) = await RunAsync("dotnet", ["Osvi.Bridge.dll", "healthcheck", $"http://127.0.0.1:{port}/healthz"],
                published, new Dictionary<string, string?>(), TimeSpan.FromSeconds(30));
            Assert.True(probe == 0, probeOutput);
            Assert.Contains("osvi_bridge_", await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics")), StringComparison.Ordinal);

            using (Process.Start("kill", ["-TERM", bridge.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
            {
            }
            Assert.True(bridge.WaitForExit(TimeSpan.FromSeconds(30)), "the bridge did not stop on SIGTERM");
            bridge.WaitForExit();
            Assert.Equal(0, bridge.ExitCode);

            // Production logs are one JSON object per line.
            var lines = log.Where(l => l.StartsWith('{')).ToList();
            Assert.NotEmpty(lines);
            Assert.All(lines, l => JsonDocument.Parse(l).Dispose());
            Assert.DoesNotContain(log, l => l.Contains(FakeSlackServer.BotToken, StringComparison.Ordinal));
        }
        finally
        {
            if (!bridge.HasExited)
            {
                bridge.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task The_published_build_exits_2_naming_a_missing_setting()
    {
        var published = await PublishAsync();
        var environment = Environment(RedisServerFixture.FreePort());
        environment["Osvi__ApiToken"] = "";

        var (code, output) = await RunAsync("dotnet", ["Osvi.Bridge.dll"], published, environment, TimeSpan.FromSeconds(60));

        Assert.Equal(2, code);
        Assert.Contains("Osvi:ApiToken is required", output, StringComparison.Ordinal);
    }

    private static Process Start(string workingDirectory, string[] args, Dictionary<string, string?> environment,
        System.Collections.Concurrent.ConcurrentQueue<string> log)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        foreach (var pair in environment)
        {
            info.Environment[pair.Key] = pair.Value;
        }
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, string[] args, string workingDirectory,
        Dictionary<string, string?> environment, TimeSpan timeout)
    {
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var process = Start(workingDirectory, args, environment, log);
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {timeout}:\n{string.Join('\n', log)}");
        }
        process.WaitForExit();
        return (process.ExitCode, string.Join('\n', log));
    }
}
