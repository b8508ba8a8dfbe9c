using System.Text.Json;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// <c>POST /slack/events</c> (Events API mode): checks the signature over the raw body before
/// anything else, answers <c>url_verification</c>, and returns 200 as soon as the inbox holds the
/// event (never after the agent). Redeliveries (<c>X-Slack-Retry-Num</c>) get 200 too; the inbox
/// drops the copy. 401 bad signature, 400 not JSON, 413 too large, 503 not ready or shutting down.
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
        if (request.ContentLength > MaxBodyBytes)
        {
            return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
        }
        var body = await ReadBodyAsync(request.Body, cancellationToken);
        if (body is null)
        {
            return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
        }

        var verdict = _verifier.Verify(
            request.Headers["X-Slack-Request-Timestamp"].ToString(),
            request.Headers["X-Slack-Signature"].ToString(),
            body);
        if (verdict != SlackSignatureVerdict.Valid)
        {
            LogRejected(_logger, verdict);
            return Results.StatusCode(StatusCodes.Status401Unauthorized);
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

        var type = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
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

        try
        {
            var outcome = await _ingestor.IngestAsync(root, cancellationToken);
            LogReceived(_logger, request.Headers["X-Slack-Retry-Num"].ToString() is { Length: > 0 } n ? n : "0", outcome);
            return Results.Ok();
        }
        catch (InboxClosedException)
        {
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }
    }

    /// <summary>The whole body, or null when it is larger than <see cref="MaxBodyBytes"/>.</summary>
    private static async Task<byte[]?> ReadBodyAsync(Stream body, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
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
