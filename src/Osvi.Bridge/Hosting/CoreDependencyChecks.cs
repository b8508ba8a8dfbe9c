using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Osvi;
using Osvi.Bridge.Storage;
using StackExchange.Redis;

namespace Osvi.Bridge.Hosting;

/// <summary><c>check</c>: Redis answers PING and accepts a write (or the in-memory store is in use).</summary>
public sealed class RedisDependencyCheck(IServiceProvider services, IOptions<RedisOptions> options) : IDependencyCheck
{
    public string Name => "redis";

    public async Task<DependencyCheckResult> RunAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.IsConfigured)
        {
            return DependencyCheckResult.Pass("not configured: in-memory store (single process, sessions lost on restart)");
        }
        try
        {
            var redis = services.GetRequiredService<IConnectionMultiplexer>();
            var database = redis.GetDatabase();
            var latency = await database.PingAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            var probe = options.Value.KeyPrefix + "check:" + Guid.NewGuid().ToString("N");
            await database.StringSetAsync(probe, "1", TimeSpan.FromSeconds(10)).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            await database.KeyDeleteAsync(probe).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            var endpoint = redis.GetEndPoints().FirstOrDefault();
            return DependencyCheckResult.Pass($"{endpoint} answers PING in {latency.TotalMilliseconds:0.0} ms and accepts writes");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            var reason = await RedisConnectionReport.ProbeAsync(ConfigurationOptions.Parse(options.Value.ConnectionString),
                TimeSpan.FromSeconds(2), cancellationToken);
            return DependencyCheckResult.Fail($"unreachable: {reason} ({ex.Message})");
        }
    }
}

/// <summary>
/// <c>check</c>: OSVI accepts the token and knows the agent. By default it only reads
/// (<c>GET /v1/active_agents</c>); with <c>--create-session</c> it starts one session and closes it at once.
/// </summary>
public sealed class OsviDependencyCheck(IHttpClientFactory httpFactory, OsviClient osvi, IOptions<OsviOptions> options, CheckCommandOptions command)
    : IDependencyCheck
{
    public string Name => "osvi";

    public async Task<DependencyCheckResult> RunAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (command.CreateSession)
        {
            try
            {
                var session = await osvi.StartSessionAsync("osvi-bridge check", cancellationToken);
                await osvi.CloseSessionAsync(session.SessionId, cancellationToken);
                return DependencyCheckResult.Pass(
                    $"token accepted; agent {settings.AgentUuid} started test session {session.SessionId} ('{session.AgentName}'), closed again");
            }
            catch (OsviException ex)
            {
                return DependencyCheckResult.Fail(ex.Message);
            }
        }

        using var http = httpFactory.CreateClient("osvi-check");
        http.BaseAddress = new Uri(settings.BaseUrl.TrimEnd('/') + "/");
        http.Timeout = TimeSpan.FromSeconds(15);
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/active_agents");
        request.Headers.TryAddWithoutValidation("API-Token", settings.ApiToken);
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            if ((int)response.StatusCode is 401 or 403)
            {
                return DependencyCheckResult.Refuse($"OSVI refused the token (HTTP {(int)response.StatusCode}): fix Osvi:ApiToken");
            }
            if (!response.IsSuccessStatusCode)
            {
                return DependencyCheckResult.Fail($"GET /v1/active_agents answered HTTP {(int)response.StatusCode}");
            }
            var agents = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            var listed = agents.ValueKind == JsonValueKind.Array && agents.EnumerateArray().Any(a =>
                a.TryGetProperty("agent_id", out var id) && id.ValueKind == JsonValueKind.String && id.GetString() == settings.AgentUuid);
            return DependencyCheckResult.Pass(listed
                ? $"token accepted; agent {settings.AgentUuid} is active (no session created)"
                : $"token accepted (no session created); agent {settings.AgentUuid} is not in the active-agents list, which names voice agents only: run 'check --create-session' to try it for real");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            return DependencyCheckResult.Fail("unreachable: " + ex.Message);
        }
    }
}

/// <summary>Flags of the <c>check</c> command.</summary>
public sealed record CheckCommandOptions(bool CreateSession);
