using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Osvi.Bridge.Osvi;

/// <summary>What one read-only call told about our token and agent.</summary>
public enum OsviAccessVerdict
{
    /// <summary>The token works (and, where the API lets us tell, the agent is known).</summary>
    Accepted,

    /// <summary>OSVI answered 401/403: <c>Osvi:ApiToken</c> is wrong (or belongs to another account).</summary>
    TokenRefused,

    /// <summary>OSVI answered a 4xx naming the agent (Chat v1 only): <c>Osvi:AgentUuid</c> is wrong.</summary>
    AgentUnknown,

    /// <summary>OSVI could not be reached or failed (timeout, 5xx, an answer we cannot read): try again later.</summary>
    Unavailable,
}

/// <summary>The verdict, the HTTP status it came from (if any) and one line for people that never holds a secret.</summary>
public sealed record OsviAccessResult(OsviAccessVerdict Verdict, int? StatusCode, string Detail);

/// <summary>
/// The one read-only call that tells whether OSVI accepts our token and agent, without creating a session:
/// legacy <c>GET /v1/active_agents</c>, Chat v1 <c>GET /v1/chat/session/active</c> for the probe customer
/// (a 404 there means "no active session": token and agent are fine). Used by <c>check</c>, <c>chat</c>,
/// the worker's start-up and its recovery probe while OSVI refuses the token. One attempt, no retries:
/// each caller decides how patiently to ask again. The legacy list names voice agents only, so an agent
/// missing from it is not a failure there.
/// </summary>
public sealed class OsviAccessProbe(IHttpClientFactory httpFactory, IOptions<OsviOptions> options)
{
    /// <summary>The HttpClient of the probe: no resilience pipeline, so one call is one attempt.</summary>
    public const string HttpClientName = "osvi-probe";

    /// <summary>The v1 customer the probe reads (and <c>check --create-session</c> talks as); no conversation key has this form.</summary>
    public const string ProbeCustomerId = V1AgentConversation.CustomerIdPrefix + "check";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    public Task<OsviAccessResult> ProbeAsync(CancellationToken cancellationToken) => ProbeAsync(options.Value, cancellationToken);

    /// <summary>The same read-only call for <paramref name="settings"/> (e.g. another agent a bot names).</summary>
    public async Task<OsviAccessResult> ProbeAsync(OsviOptions settings, CancellationToken cancellationToken)
    {
        using var http = httpFactory.CreateClient(HttpClientName);
        return await ProbeAsync(http, settings, cancellationToken);
    }

    /// <summary>The same read-only call over <paramref name="http"/> (e.g. a conversation's own client, to warm it up).</summary>
    public Task<OsviAccessResult> ProbeAsync(HttpClient http, CancellationToken cancellationToken) => ProbeAsync(http, options.Value, cancellationToken);

    private static async Task<OsviAccessResult> ProbeAsync(HttpClient http, OsviOptions settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.BaseAddress = new Uri(settings.BaseUrl.TrimEnd('/') + "/");
        http.Timeout = settings.RequestTimeout < Timeout ? settings.RequestTimeout : Timeout;
        try
        {
            return settings.ApiVersion == OsviApiVersion.V1
                ? await ProbeV1Async(http, settings, cancellationToken)
                : await ProbeActiveAgentsAsync(http, settings, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException
                                   || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new OsviAccessResult(OsviAccessVerdict.Unavailable, null, "unreachable: " + ex.Message);
        }
    }

    private static async Task<OsviAccessResult> ProbeV1Async(HttpClient http, OsviOptions settings, CancellationToken cancellationToken)
    {
        var path = $"v1/chat/session/active?customer_id={Uri.EscapeDataString(ProbeCustomerId)}&agent_uuid={Uri.EscapeDataString(settings.AgentUuid)}";
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("API-Token", settings.ApiToken);
        using var response = await http.SendAsync(request, cancellationToken);
        var status = (int)response.StatusCode;
        if (status is 401 or 403)
        {
            return Refused(status);
        }
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        // OSVI's 404 "no active session" is about the session; a 4xx about the agent (unknown, not ours) names it.
        if (status is >= 400 and < 500 and not (408 or 429) && body.Contains("agent", StringComparison.OrdinalIgnoreCase)
            && !(status == 404 && body.Contains("session", StringComparison.OrdinalIgnoreCase)))
        {
            return new OsviAccessResult(OsviAccessVerdict.AgentUnknown, status,
                $"OSVI does not accept agent {settings.AgentUuid} (GET /v1/chat/session/active: HTTP {status}: {Shorten(body)}): fix Osvi:AgentUuid");
        }
        // 404 is the documented answer for a customer without an active session: token and endpoint work.
        if (status is not (200 or 404))
        {
            return new OsviAccessResult(OsviAccessVerdict.Unavailable, status, $"GET /v1/chat/session/active answered HTTP {status}: {Shorten(body)}");
        }
        return new OsviAccessResult(OsviAccessVerdict.Accepted, status,
            $"token accepted; Chat v1 answers for agent {settings.AgentUuid} (GET /v1/chat/session/active: HTTP {status}; no session created)");
    }

    private static async Task<OsviAccessResult> ProbeActiveAgentsAsync(HttpClient http, OsviOptions settings, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/active_agents");
        request.Headers.TryAddWithoutValidation("API-Token", settings.ApiToken);
        using var response = await http.SendAsync(request, cancellationToken);
        var status = (int)response.StatusCode;
        if (status is 401 or 403)
        {
            return Refused(status);
        }
        if (!response.IsSuccessStatusCode)
        {
            return new OsviAccessResult(OsviAccessVerdict.Unavailable, status, $"GET /v1/active_agents answered HTTP {status}");
        }
        var agents = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        var listed = agents.ValueKind == JsonValueKind.Array && agents.EnumerateArray().Any(a =>
            a.TryGetProperty("agent_id", out var id) && id.ValueKind == JsonValueKind.String && id.GetString() == settings.AgentUuid);
        return new OsviAccessResult(OsviAccessVerdict.Accepted, status, listed
            ? $"token accepted; agent {settings.AgentUuid} is active (no session created)"
            : $"token accepted (no session created); agent {settings.AgentUuid} is not in the active-agents list, which names voice agents only");
    }

    private static OsviAccessResult Refused(int status) =>
        new(OsviAccessVerdict.TokenRefused, status, $"OSVI refused the token (HTTP {status}): fix Osvi:ApiToken");

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";
}
