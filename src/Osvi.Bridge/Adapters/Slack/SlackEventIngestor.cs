using System.Text.Json;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>What became of one Slack event.</summary>
public enum SlackIngestOutcome
{
    Accepted,
    Duplicate,
    Ignored,
}

/// <summary>
/// The shared last step of Socket Mode and the Events API: parse the payload, look up the sender's
/// name and hand the message to the <see cref="IInbox"/>. The caller acknowledges Slack only after
/// this returned; <see cref="InboxClosedException"/> passes through so that it does not.
/// </summary>
public sealed partial class SlackEventIngestor
{
    private readonly SlackBotIdentityHolder _identity;
    private readonly SlackUserDirectory _users;
    private readonly IInbox _inbox;
    private readonly TimeProvider _time;
    private readonly ILogger<SlackEventIngestor> _logger;

    public SlackEventIngestor(SlackBotIdentityHolder identity, SlackUserDirectory users, IInbox inbox, TimeProvider time,
        ILogger<SlackEventIngestor> logger)
    {
        _identity = identity;
        _users = users;
        _inbox = inbox;
        _time = time;
        _logger = logger;
    }

    /// <summary>True once <c>auth.test</c> told us who we are; before that events cannot be judged.</summary>
    public bool IsReady => _identity.Current is not null;

    public async Task<SlackIngestOutcome> IngestAsync(JsonElement payload, CancellationToken cancellationToken)
    {
        var identity = _identity.Current ?? throw new InvalidOperationException("The Slack bot identity is not known yet (auth.test).");
        var eventId = payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty("event_id", out var id) ? id.ToString() : "-";
        var parsed = SlackEventParser.Parse(payload, identity);
        if (parsed.Message is not { } message)
        {
            LogIgnored(_logger, eventId, parsed.IgnoredReason ?? "-");
            return SlackIngestOutcome.Ignored;
        }

        var displayName = await _users.GetDisplayNameAsync(message.UserId, cancellationToken);
        var inbound = new InboundMessage(SlackEventParser.Platform, message.Conversation, message.MessageId, message.UserId,
            displayName, message.Text, message.ReplyTarget)
        {
            ReceivedAt = _time.GetUtcNow(),
        };
        var receipt = await _inbox.AcceptAsync(inbound, cancellationToken);
        LogAccepted(_logger, eventId, message.MessageId, message.Conversation.Value, receipt.Outcome);
        return receipt.Outcome == InboxOutcome.Accepted ? SlackIngestOutcome.Accepted : SlackIngestOutcome.Duplicate;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ignored Slack event {EventId}: {Reason}")]
    private static partial void LogIgnored(ILogger logger, string eventId, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Slack event {EventId} (message {MessageId}, conversation {ConversationKey}): {Outcome}")]
    private static partial void LogAccepted(ILogger logger, string eventId, string messageId, string conversationKey, InboxOutcome outcome);
}
