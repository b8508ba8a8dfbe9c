using System.Net;
using System.Text.Json;
using Polly.Timeout;

namespace Osvi.Bridge.Osvi;

/// <summary>What a 404 means for one OSVI call.</summary>
internal enum OsviCallKind
{
    /// <summary>A 404 is a validation error (e.g. the agent is unknown).</summary>
    Plain,

    /// <summary>The call names a session: a 404, or a 400/422 whose errors name the session, means it is gone.</summary>
    InSession,

    /// <summary>A lookup: a 404 means "there is none" and is not an error.</summary>
    Lookup,
}

/// <summary>
/// One OSVI request and the mapping of its answer, shared by both API flavours: the <c>data</c> of a
/// success envelope, or a typed <see cref="OsviException"/> (401/403 authentication, 400/422 validation,
/// 404 session gone, 408/429/5xx and connection failures unavailable — what the resilience handler
/// did not, or may not, retry).
/// </summary>
internal sealed class OsviTransport(HttpClient http, OsviOptions options, OsviAuthState authState)
{
    /// <summary>Sends the request; returns its <c>data</c>, or null for a <see cref="OsviCallKind.Lookup"/> that found nothing.</summary>
    public async Task<JsonElement?> SendAsync(HttpMethod method, string path, HttpContent? content, OsviCallKind kind, bool retrySafe,
        CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(method, path) { Content = content };
            request.Headers.TryAddWithoutValidation("API-Token", options.ApiToken);
            if (retrySafe)
            {
                request.Options.Set(OsviRetryPolicy.RetrySafe, true);
            }
            response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutRejectedException
                                   || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new OsviUnavailableException($"OSVI could not be reached ({path}): {ex.Message}", ex)
            {
                MayHaveReachedOsvi = !OsviRetryPolicy.FailedBeforeSending(ex),
            };
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

            if (status is 408 or 429 || status >= 500)
            {
                throw new OsviUnavailableException($"OSVI failed on {path} (HTTP {status}).")
                {
                    StatusCode = status,
                    MayHaveReachedOsvi = !OsviRetryPolicy.NotProcessed(status),
                };
            }

            if (kind == OsviCallKind.Lookup && response.StatusCode == HttpStatusCode.NotFound)
            {
                authState.ReportAccepted();
                return null;
            }

            var errors = ReadErrors(body);
            if (kind == OsviCallKind.InSession && (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone
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

    public static string? ReadString(JsonElement data, string name) =>
        data.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static bool ReadBool(JsonElement data, string name) =>
        data.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

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
}
