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
/// <c>check</c>: OSVI accepts the token and knows the agent. By default it only reads (legacy:
/// <c>GET /v1/active_agents</c>; v1: <c>GET /v1/chat/session/active</c> for a probe customer); with
/// <c>--create-session</c> it starts one session (v1: and sends it one message) and closes it at once.
/// </summary>
public sealed class OsviDependencyCheck(IHttpClientFactory httpFactory, IAgentConversation agent, IOptions<OsviOptions> options, CheckCommandOptions command)
    : IDependencyCheck
{
    /// <summary>The v1 customer the check reads and, with <c>--create-session</c>, talks as; no conversation key has this form.</summary>
    public const string ProbeCustomerId = V1AgentConversation.CustomerIdPrefix + "check";

    public string Name => "osvi";

    public async Task<DependencyCheckResult> RunAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (command.CreateSession)
        {
            return agent.ApiVersion == OsviApiVersion.V1 ? await RunV1TurnAsync(settings, cancellationToken) : await StartAndCloseAsync(settings, cancellationToken);
        }

        using var http = httpFactory.CreateClient("osvi-check");
        http.BaseAddress = new Uri(settings.BaseUrl.TrimEnd('/') + "/");
        http.Timeout = TimeSpan.FromSeconds(15);
        try
        {
            return settings.ApiVersion == OsviApiVersion.V1
                ? await ProbeV1Async(http, settings, cancellationToken)
                : await ProbeActiveAgentsAsync(http, settings, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            return DependencyCheckResult.Fail("unreachable: " + ex.Message);
        }
    }

    private async Task<DependencyCheckResult> StartAndCloseAsync(OsviOptions settings, CancellationToken cancellationToken)
    {
        var probe = new Messaging.ConversationKey("check");
        try
        {
            var session = await agent.StartSessionAsync(probe, "osvi-bridge check", cancellationToken);
            await agent.CloseSessionAsync(session.SessionId, probe, cancellationToken);
            return DependencyCheckResult.Pass(
                $"token accepted; agent {settings.AgentUuid} started test session {session.SessionId} ('{session.AgentName}'), closed again");
        }
        catch (OsviException ex)
        {
            return DependencyCheckResult.Fail(ex.Message);
        }
    }

    private async Task<DependencyCheckResult> RunV1TurnAsync(OsviOptions settings, CancellationToken cancellationToken)
    {
        // Customer id osvi-bridge:check, the same as the read-only probe's.
        var probe = new Messaging.ConversationKey("check");
        try
        {
            var session = await agent.StartSessionAsync(probe, "osvi-bridge check", cancellationToken);
            var turn = await agent.SendAsync(session.SessionId, probe, "This is a connectivity test from osvi-bridge check. Please reply briefly.",
                cancellationToken);
            await agent.CloseSessionAsync(session.SessionId, probe, cancellationToken);
            return DependencyCheckResult.Pass(
                $"token accepted; agent {settings.AgentUuid} started test session {session.SessionId} (Chat v1, customer {ProbeCustomerId}), "
                + $"answered a test message ({turn.Text.Length} characters, mode {turn.Mode ?? "-"}), closed again");
        }
        catch (OsviException ex)
        {
            return DependencyCheckResult.Fail(ex.Message);
        }
    }

    private static async Task<DependencyCheckResult> ProbeV1Async(HttpClient http, OsviOptions settings, CancellationToken cancellationToken)
    {
        var path = $"v1/chat/session/active?customer_id={Uri.EscapeDataString(ProbeCustomerId)}&agent_uuid={Uri.EscapeDataString(settings.AgentUuid)}";
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("API-Token", settings.ApiToken);
        using var response = await http.SendAsync(request, cancellationToken);
        var status = (int)response.StatusCode;
        if (status is 401 or 403)
        {
            return DependencyCheckResult.Refuse($"OSVI refused the token (HTTP {status}): fix Osvi:ApiToken");
        }
        // 404 is the documented answer for a customer without an active session: token and endpoint work.
        if (status is not (200 or 404))
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            return DependencyCheckResult.Fail($"GET /v1/chat/session/active answered HTTP {status}: {Shorten(body)}");
        }
        return DependencyCheckResult.Pass(
            $"token accepted; Chat v1 answers for agent {settings.AgentUuid} (GET /v1/chat/session/active: HTTP {status}; no session created): "
            + "run 'check --create-session' to try a full turn");
    }

    private static async Task<DependencyCheckResult> ProbeActiveAgentsAsync(HttpClient http, OsviOptions settings, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/active_agents");
        request.Headers.TryAddWithoutValidation("API-Token", settings.ApiToken);
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

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";
}

/// <summary>Flags of the <c>check</c> command.</summary>
public sealed record CheckCommandOptions(bool CreateSession);
