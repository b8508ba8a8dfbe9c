using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.WebUtilities;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// <c>POST /slack/commands</c> (Events API mode): the slash command's Request URL. Signed like the events
/// (checked over the raw form body first: 401 otherwise), answered at once: 200 with the ephemeral text, or
/// empty once the inbox holds the command (its answer is posted in the DM). 503 before <c>auth.test</c> or
/// while shutting down, so Slack shows the user that it failed rather than nothing.
/// </summary>
public sealed partial class SlackCommandsEndpoint(SlackSignatureVerifier verifier, SlackEventIngestor ingestor, ILogger<SlackCommandsEndpoint> logger)
{
    public const string Path = "/slack/commands";

    public async Task<IResult> HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var timestamp = request.Headers["X-Slack-Request-Timestamp"].ToString();
        var signature = request.Headers["X-Slack-Signature"].ToString();
        var verdict = verifier.CheckHeaders(timestamp, signature);
        if (verdict != SlackSignatureVerdict.Valid)
        {
            LogRejected(logger, verdict);
            return Results.StatusCode(StatusCodes.Status401Unauthorized);
        }
        if (request.ContentLength > SlackEventsEndpoint.MaxBodyBytes
            || await SlackEventsEndpoint.ReadBodyAsync(request.Body, request.ContentLength, context.RequestAborted) is not { } body)
        {
            return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
        }
        verdict = verifier.Verify(timestamp, signature, body);
        if (verdict != SlackSignatureVerdict.Valid)
        {
            LogRejected(logger, verdict);
            return Results.StatusCode(StatusCodes.Status401Unauthorized);
        }
        if (!Utf8.IsValid(body))
        {
            return Results.BadRequest();
        }
        if (!ingestor.IsReady)
        {
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }
        var form = QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body));
        var command = ingestor.ParseCommand(name => form.TryGetValue(name, out var value) ? value.ToString() : null);
        try
        {
            if (command.Message is { } message)
            {
                await ingestor.AcceptAsync(message, context.RequestAborted);
            }
        }
        catch (InboxClosedException)
        {
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }
        return command.EphemeralText is { } text
            ? Results.Text(JsonSerializer.Serialize(new SlackEphemeralResponse(text), SlackJsonContext.Default.SlackEphemeralResponse), "application/json")
            : Results.Ok();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a request to /slack/commands: signature {Verdict}")]
    private static partial void LogRejected(ILogger logger, SlackSignatureVerdict verdict);
}
