using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Polly.Timeout;

namespace Osvi.Bridge.Osvi;

/// <summary>
/// The OSVI legacy chat API on a typed <see cref="HttpClient"/>. Retries, back-off and timeouts
/// come from the resilience handler registered with it; this class turns answers into results
/// or typed <see cref="OsviException"/>s.
/// </summary>
public sealed class OsviClient(HttpClient http, IOptions<OsviOptions> options, OsviAuthState authState)
{
    private readonly OsviOptions _options = options.Value;

    public async Task<OsviSession> StartSessionAsync(string? personName, CancellationToken cancellationToken)
    {
        var request = new StartSessionRequest(
            _options.AgentUuid,
            string.IsNullOrWhiteSpace(personName) ? null : new SessionMetadata(personName));
        var data = await PostAsync("chat_sessions", JsonContent.Create(request, OsviJsonContext.Default.StartSessionRequest),
            isSessionCall: false, cancellationToken);
        var sessionId = ReadString(data, "session_id")
            ?? throw new OsviException("OSVI started a session but returned no session_id.");
        return new OsviSession(sessionId, ReadString(data, "agent_name"), ReadString(data, "welcome_message"));
    }

    public async Task<OsviReply> SendMessageAsync(string sessionId, string message, CancellationToken cancellationToken)
    {
        var request = new SendMessageRequest(_options.AgentUuid, sessionId, message);
        var data = await PostAsync("chat_messages/send_message", JsonContent.Create(request, OsviJsonContext.Default.SendMessageRequest),
            isSessionCall: true, cancellationToken);
        return new OsviReply(
            ReadString(data, "session_id") ?? sessionId,
            ReadString(data, "response") ?? "",
            ReadString(data, "current_state"));
    }

    /// <summary>Closes a session; returns OSVI's summary of the conversation, if any.</summary>
    public async Task<string?> CloseSessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        var request = new CloseSessionRequest(_options.AgentUuid);
        var data = await PostAsync($"chat_sessions/{Uri.EscapeDataString(sessionId)}/close_session",
            JsonContent.Create(request, OsviJsonContext.Default.CloseSessionRequest), isSessionCall: true, cancellationToken);
        return ReadString(data, "summary");
    }

    private async Task<JsonElement> PostAsync(string path, HttpContent content, bool isSessionCall, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
            request.Headers.TryAddWithoutValidation("API-Token", _options.ApiToken);
            response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutRejectedException
                                   || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new OsviUnavailableException($"OSVI could not be reached ({path}): {ex.Message}", ex);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            var body = await ReadJsonAsync(response, cancellationToken);

            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                authState.ReportRejected(status);
                throw new OsviAuthenticationException($"OSVI refused the request to {path} (HTTP {status}): {Describe(body)}")
                { StatusCode = status };
            }

            if (status == 429 || status >= 500)
            {
                throw new OsviUnavailableException($"OSVI kept failing on {path} (HTTP {status}) after retries.") { StatusCode = status };
            }

            var errors = ReadErrors(body);
            if (isSessionCall && (response.StatusCode == HttpStatusCode.NotFound
                                  || (IsValidation(response.StatusCode, body) && errors.Any(MentionsSession))))
            {
                authState.ReportAccepted();
                throw new OsviSessionNotFoundException($"OSVI does not know the session ({path}, HTTP {status}): {Describe(body)}")
                { StatusCode = status };
            }

            if (IsValidation(response.StatusCode, body) || response.StatusCode == HttpStatusCode.NotFound)
            {
                authState.ReportAccepted();
                throw new OsviValidationException($"OSVI rejected the request to {path} (HTTP {status}): {string.Join("; ", errors)}")
                { StatusCode = status, Errors = errors };
            }

            if (!response.IsSuccessStatusCode || body is not { ValueKind: JsonValueKind.Object } envelope
                || !envelope.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object)
            {
                throw new OsviException($"OSVI answered {path} with HTTP {status} and no usable data.") { StatusCode = status };
            }

            authState.ReportAccepted();
            return data.Clone();
        }
    }

    private static bool IsValidation(HttpStatusCode status, JsonElement? body) =>
        status is HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity
        || (body is { ValueKind: JsonValueKind.Object } b && b.TryGetProperty("success", out var s) && s.ValueKind == JsonValueKind.False);

    private static bool MentionsSession(string error) => error.Contains("session", StringComparison.OrdinalIgnoreCase);

    private static async Task<JsonElement?> ReadJsonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (string.IsNullOrWhiteSpace(text))
            {
                return null;
            }
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static List<string> ReadErrors(JsonElement? body)
    {
        var errors = new List<string>();
        if (body is not { ValueKind: JsonValueKind.Object } b)
        {
            return errors;
        }
        if (b.TryGetProperty("errors", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            errors.AddRange(list.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText()));
        }
        if (b.TryGetProperty("error", out var single) && single.ValueKind == JsonValueKind.String)
        {
            errors.Add(single.GetString()!);
        }
        return errors;
    }

    private static string Describe(JsonElement? body)
    {
        var errors = ReadErrors(body);
        return errors.Count > 0 ? string.Join("; ", errors) : "no error text";
    }

    private static string? ReadString(JsonElement data, string name) =>
        data.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
