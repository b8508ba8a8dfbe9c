using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// The few Slack Web API methods the bridge needs, on a typed <see cref="HttpClient"/>. Turns
/// <c>ok:false</c> into <see cref="SlackApiException"/>, waits out HTTP 429 (<c>Retry-After</c>)
/// and transient failures a bounded number of times, and never retries Slack's refusals.
/// </summary>
public sealed partial class SlackApiClient
{
    private readonly HttpClient _http;
    private readonly SlackOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SlackApiClient> _logger;
    private readonly BridgeMetrics _metrics;

    public SlackApiClient(HttpClient http, IOptions<SlackOptions> options, TimeProvider time, BridgeMetrics metrics, ILogger<SlackApiClient> logger)
    {
        _metrics = metrics;
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

    public async Task<SlackPostedMessage> PostMessageAsync(string channel, string text, string? threadTs, CancellationToken cancellationToken)
    {
        var body = new SlackPostMessageRequest(channel, text, threadTs);
        var result = await CallAsync("chat.postMessage",
            () => Post("chat.postMessage", _options.BotToken, JsonContent.Create(body, SlackJsonContext.Default.SlackPostMessageRequest)),
            cancellationToken);
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

    private static HttpRequestMessage Post(string method, string token, HttpContent? content)
    {
        // JsonContent sends "application/json; charset=utf-8"; Slack warns (missing_charset) without the charset.
        var request = new HttpRequestMessage(HttpMethod.Post, method) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    private async Task<JsonElement> CallAsync(string method, Func<HttpRequestMessage> createRequest, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            HttpResponseMessage response;
            try
            {
                using var request = createRequest();
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            }
            catch (Exception ex) when (ex is HttpRequestException
                                       || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                if (attempt < _options.MaxRetries)
                {
                    var delay = BackoffDelay(attempt);
                    LogTransient(_logger, method, "unreachable", delay.TotalMilliseconds, attempt + 1);
                    _metrics.Retry(SlackEventParser.Platform);
                    await Task.Delay(delay, _time, cancellationToken);
                    continue;
                }
                throw new SlackApiException(method, "unreachable", $"Slack could not be reached ({method}): {ex.Message}", ex);
            }

            using (response)
            {
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    var wait = RetryAfter(response);
                    if (attempt < _options.MaxRetries && wait <= _options.MaxRetryAfter)
                    {
                        LogRateLimited(_logger, method, wait.TotalSeconds, attempt + 1);
                        _metrics.RateLimitWait(SlackEventParser.Platform);
                        await Task.Delay(wait, _time, cancellationToken);
                        continue;
                    }
                    LogRefused(_logger, method, "ratelimited");
                    throw new SlackApiException(method, "ratelimited", $"Slack kept rate-limiting {method} (asked to wait {wait.TotalSeconds:0} s).");
                }

                var status = (int)response.StatusCode;
                if (status >= 500 || response.StatusCode == HttpStatusCode.RequestTimeout)
                {
                    if (attempt < _options.MaxRetries)
                    {
                        var delay = BackoffDelay(attempt);
                        LogTransient(_logger, method, $"http_{status}", delay.TotalMilliseconds, attempt + 1);
                        _metrics.Retry(SlackEventParser.Platform);
                        await Task.Delay(delay, _time, cancellationToken);
                        continue;
                    }
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
    }

    private TimeSpan RetryAfter(HttpResponseMessage response)
    {
        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }
        if (retryAfter?.Date is { } date)
        {
            var wait = date - _time.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }
        return TimeSpan.FromSeconds(1);
    }

    private static TimeSpan BackoffDelay(int attempt) =>
        TimeSpan.FromMilliseconds(Math.Min(10_000, 500 * Math.Pow(2, attempt)) * (0.8 + (Random.Shared.NextDouble() * 0.4)));

    private static string? ReadString(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private static string? FirstNonEmpty(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack rate-limited {Method}; waiting {RetryAfterSeconds:0.#} s before attempt {Attempt}")]
    private static partial void LogRateLimited(ILogger logger, string method, double retryAfterSeconds, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack call {Method} failed ({Error}); retrying in {DelayMs:0} ms (retry {Attempt})")]
    private static partial void LogTransient(ILogger logger, string method, string error, double delayMs, int attempt);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Slack refused {Method} with '{Error}'; not retried: fix the token, scopes or channel membership (invite the app to the channel)")]
    private static partial void LogRefusedPermanently(ILogger logger, string method, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack refused {Method} with '{Error}'")]
    private static partial void LogRefused(ILogger logger, string method, string error);
}
