using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Polly.Timeout;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// The few Slack Web API methods the bridge needs, on a typed <see cref="HttpClient"/> whose
/// resilience pipeline (<see cref="SlackResilience"/>) waits out HTTP 429 and transient failures.
/// Turns <c>ok:false</c>, and what the pipeline gave up on, into <see cref="SlackApiException"/>.
/// </summary>
public sealed partial class SlackApiClient
{
    private readonly HttpClient _http;
    private readonly SlackOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SlackApiClient> _logger;

    public SlackApiClient(HttpClient http, IOptions<SlackOptions> options, TimeProvider time, ILogger<SlackApiClient> logger)
    {
        _http = http;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    public async Task<SlackBotIdentity> AuthTestAsync(CancellationToken cancellationToken)
    {
        var result = await CallAsync("auth.test", () => Post("auth.test", _options.BotToken, content: null), cancellationToken);
        return new SlackBotIdentity(
            ReadString(result, "user_id") ?? "",
            ReadString(result, "bot_id") ?? "",
            ReadString(result, "team_id") ?? "");
    }

    /// <summary>Asks for a fresh Socket Mode WebSocket URL (one per connection; they are single-use).</summary>
    public async Task<Uri> OpenSocketConnectionAsync(CancellationToken cancellationToken)
    {
        var result = await CallAsync("apps.connections.open", () => Post("apps.connections.open", _options.AppToken, content: null), cancellationToken);
        var url = ReadString(result, "url");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("wss" or "ws"))
        {
            throw new SlackApiException("apps.connections.open", "invalid_url", "apps.connections.open returned no usable WebSocket URL.");
        }
        return uri;
    }

    /// <summary>Posts a message; not repeated after a timeout (it may have been posted), so a timeout surfaces as <c>timeout</c>.</summary>
    public async Task<SlackPostedMessage> PostMessageAsync(string channel, string text, string? threadTs, CancellationToken cancellationToken)
    {
        var body = new SlackPostMessageRequest(channel, text, threadTs);
        var result = await CallAsync("chat.postMessage",
            () => Post("chat.postMessage", _options.BotToken, JsonContent.Create(body, SlackJsonContext.Default.SlackPostMessageRequest)),
            cancellationToken, idempotent: false);
        return new SlackPostedMessage(ReadString(result, "channel") ?? channel, ReadString(result, "ts") ?? "");
    }

    public async Task UpdateMessageAsync(string channel, string ts, string text, CancellationToken cancellationToken)
    {
        var body = new SlackUpdateMessageRequest(channel, ts, text);
        await CallAsync("chat.update",
            () => Post("chat.update", _options.BotToken, JsonContent.Create(body, SlackJsonContext.Default.SlackUpdateMessageRequest)),
            cancellationToken);
    }

    public async Task DeleteMessageAsync(string channel, string ts, CancellationToken cancellationToken)
    {
        var body = new SlackDeleteMessageRequest(channel, ts);
        await CallAsync("chat.delete",
            () => Post("chat.delete", _options.BotToken, JsonContent.Create(body, SlackJsonContext.Default.SlackDeleteMessageRequest)),
            cancellationToken);
    }

    /// <summary>
    /// Sets (or, with an empty <paramref name="status"/>, clears) the loading status of a thread
    /// (<c>assistant.threads.setStatus</c>); Slack clears it by itself after 2 minutes or when the app posts there.
    /// </summary>
    public async Task SetThreadStatusAsync(string channel, string threadTs, string status, CancellationToken cancellationToken)
    {
        var body = new SlackSetStatusRequest(channel, threadTs, status);
        await CallAsync("assistant.threads.setStatus",
            () => Post("assistant.threads.setStatus", _options.BotToken, JsonContent.Create(body, SlackJsonContext.Default.SlackSetStatusRequest)),
            cancellationToken);
    }

    /// <summary>The name people see: <c>profile.display_name</c>, else <c>real_name</c>, else <c>name</c>.</summary>
    public async Task<string?> GetUserDisplayNameAsync(string userId, CancellationToken cancellationToken)
    {
        // users.info is a read method: it takes the query string, not JSON.
        var result = await CallAsync("users.info", () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "users.info?user=" + Uri.EscapeDataString(userId));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.BotToken);
            return request;
        }, cancellationToken);

        if (!result.TryGetProperty("user", out var user) || user.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        var profile = user.TryGetProperty("profile", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        return FirstNonEmpty(
            profile.ValueKind == JsonValueKind.Object ? ReadString(profile, "display_name") : null,
            profile.ValueKind == JsonValueKind.Object ? ReadString(profile, "real_name") : null,
            ReadString(user, "real_name"),
            ReadString(user, "name"));
    }

    /// <summary>The first message of a thread (<c>conversations.replies</c>, limit 1): who wrote it (user or bot) and its text.</summary>
    public async Task<SlackThreadParent?> GetThreadParentAsync(string channel, string threadTs, CancellationToken cancellationToken)
    {
        var result = await CallAsync("conversations.replies", () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get,
                "conversations.replies?channel=" + Uri.EscapeDataString(channel) + "&ts=" + Uri.EscapeDataString(threadTs) + "&limit=1");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.BotToken);
            return request;
        }, cancellationToken);
        if (!result.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            return null;
        }
        var parent = messages[0];
        return new SlackThreadParent(ReadString(parent, "user"), ReadString(parent, "bot_id"), ReadString(parent, "text") ?? "");
    }

    private static HttpRequestMessage Post(string method, string token, HttpContent? content)
    {
        // JsonContent sends "application/json; charset=utf-8"; Slack warns (missing_charset) without the charset.
        var request = new HttpRequestMessage(HttpMethod.Post, method) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    private async Task<JsonElement> CallAsync(string method, Func<HttpRequestMessage> createRequest, CancellationToken cancellationToken,
        bool idempotent = true)
    {
        // Retries, Retry-After and the timeout per attempt are the resilience pipeline's (SlackResilience).
        HttpResponseMessage response;
        using var request = createRequest();
        request.Options.Set(SlackResilience.NonIdempotent, !idempotent);
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new SlackApiException(method, "timeout", $"Slack did not answer {method} in time.", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new SlackApiException(method, "unreachable", $"Slack could not be reached ({method}): {ex.Message}", ex);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                var wait = SlackResilience.RetryAfter(response, _time);
                LogRefused(_logger, method, "ratelimited");
                throw new SlackApiException(method, "ratelimited", $"Slack kept rate-limiting {method} (asked to wait {wait.TotalSeconds:0} s).");
            }
            if (status >= 500 || response.StatusCode == HttpStatusCode.RequestTimeout)
            {
                throw new SlackApiException(method, $"http_{status}", $"Slack kept failing on {method} (HTTP {status}).");
            }

            JsonElement root;
            try
            {
                using var document = await JsonDocument.ParseAsync(
                    await response.Content.ReadAsStreamAsync(cancellationToken), default, cancellationToken);
                root = document.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new SlackApiException(method, $"http_{status}", $"Slack answered {method} with HTTP {status} and no JSON.", ex);
            }

            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("ok", out var ok) || ok.ValueKind != JsonValueKind.True)
            {
                var error = ReadString(root, "error") ?? $"http_{status}";
                var exception = new SlackApiException(method, error, $"Slack refused {method}: {error}");
                if (exception.IsPermanent)
                {
                    LogRefusedPermanently(_logger, method, error);
                }
                else
                {
                    LogRefused(_logger, method, error);
                }
                throw exception;
            }
            return root;
        }
    }

    private static string? ReadString(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private static string? FirstNonEmpty(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Slack refused {Method} with '{Error}'; not retried: fix the token, scopes or channel membership (invite the app to the channel)")]
    private static partial void LogRefusedPermanently(ILogger logger, string method, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack refused {Method} with '{Error}'")]
    private static partial void LogRefused(ILogger logger, string method, string error);
}
