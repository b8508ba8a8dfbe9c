using System.Text.Json;
using System.Text.Unicode;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// <c>POST /slack/events</c> (Events API mode): checks the signature over the raw body before
/// anything else, answers <c>url_verification</c>, and returns 200 as soon as the inbox holds the
/// event (never after the agent). Redeliveries (<c>X-Slack-Retry-Num</c>) get 200 too; the inbox
/// drops the copy. 401 unsigned, stale (both judged from the headers, before the body is read) or
/// bad signature, 400 not UTF-8 JSON, 413 too large, 503 not ready (auth.test pending) or shutting down.
/// </summary>
public sealed partial class SlackEventsEndpoint
{
    public const string Path = "/slack/events";
    public const int MaxBodyBytes = 1024 * 1024;

    private readonly SlackSignatureVerifier _verifier;
    private readonly SlackEventIngestor _ingestor;
    private readonly ILogger<SlackEventsEndpoint> _logger;

    public SlackEventsEndpoint(SlackSignatureVerifier verifier, SlackEventIngestor ingestor, ILogger<SlackEventsEndpoint> logger)
    {
        _verifier = verifier;
        _ingestor = ingestor;
        _logger = logger;
    }

    public async Task<IResult> HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var cancellationToken = context.RequestAborted;
        var timestamp = request.Headers["X-Slack-Request-Timestamp"].ToString();
        var signature = request.Headers["X-Slack-Signature"].ToString();
        // Unsigned or stale requests are refused from their headers, before any body is buffered.
        var verdict = _verifier.CheckHeaders(timestamp, signature);
        if (verdict != SlackSignatureVerdict.Valid)
        {
            LogRejected(_logger, verdict);
            return Results.StatusCode(StatusCodes.Status401Unauthorized);
        }
        if (request.ContentLength > MaxBodyBytes)
        {
            return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
        }
        var body = await ReadBodyAsync(request.Body, request.ContentLength, cancellationToken);
        if (body is null)
        {
            return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
        }

        verdict = _verifier.Verify(timestamp, signature, body);
        if (verdict != SlackSignatureVerdict.Valid)
        {
            LogRejected(_logger, verdict);
            return Results.StatusCode(StatusCodes.Status401Unauthorized);
        }

        // JSON text must be UTF-8; strings that are not would fail later, when read, as a 500.
        if (!Utf8.IsValid(body))
        {
            return Results.BadRequest();
        }
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(body);
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return Results.BadRequest();
        }
        if (root.ValueKind != JsonValueKind.Object)
        {
            return Results.BadRequest();
        }

        string? type;
        SlackUserMessage? message = null;
        try
        {
            type = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (type == "url_verification")
            {
                var challenge = root.TryGetProperty("challenge", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() ?? "" : "";
                return Results.Text(challenge, "text/plain");
            }
            if (type != "event_callback")
            {
                LogOtherType(_logger, type ?? "-");
                return Results.Ok();
            }
            if (!_ingestor.IsReady)
            {
                // auth.test has not answered yet; Slack retries shortly.
                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
            }
            message = _ingestor.Parse(root);
        }
        catch (InvalidOperationException)
        {
            // Valid UTF-8 whose escapes do not make text (e.g. a lone \uD800): still not an event.
            return Results.BadRequest();
        }

        try
        {
            var outcome = message is null ? SlackIngestOutcome.Ignored : await _ingestor.AcceptAsync(message, cancellationToken);
            LogReceived(_logger, request.Headers["X-Slack-Retry-Num"].ToString() is { Length: > 0 } n ? n : "0", outcome);
            return Results.Ok();
        }
        catch (InboxClosedException)
        {
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }
    }

    /// <summary>The whole body, or null when it is larger than <see cref="MaxBodyBytes"/>.</summary>
    internal static async Task<byte[]?> ReadBodyAsync(Stream body, long? contentLength, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream(contentLength is > 0 and <= MaxBodyBytes ? (int)contentLength.Value : 16 * 1024);
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a request to /slack/events: signature {Verdict}")]
    private static partial void LogRejected(ILogger logger, SlackSignatureVerdict verdict);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ignored an Events API request of type {Type}")]
    private static partial void LogOtherType(ILogger logger, string type);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Events API request (retry {RetryNum}): {Outcome}")]
    private static partial void LogReceived(ILogger logger, string retryNum, SlackIngestOutcome outcome);
}
