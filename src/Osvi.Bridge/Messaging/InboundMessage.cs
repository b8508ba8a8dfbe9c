namespace Osvi.Bridge.Messaging;

/// <summary>
/// A user's message, normalized by a channel adapter and free of platform types, so that the
/// inbox can persist it and the relay can handle it without knowing where it came from.
/// </summary>
/// <param name="Platform">The channel name, e.g. <c>telegram</c>; selects the <see cref="IReplySender"/>.</param>
/// <param name="Conversation">The conversation the message belongs to.</param>
/// <param name="MessageId">The platform's id of the event, unique per platform; used for de-duplication.</param>
/// <param name="UserId">The sender's id on the platform.</param>
/// <param name="DisplayName">The sender's name, passed to OSVI as <c>metadata.person_name</c>.</param>
/// <param name="Text">The text for the agent, already stripped of mentions; commands start with '/'.</param>
/// <param name="ReplyTarget">Where the answer goes.</param>
public sealed record InboundMessage(
    string Platform,
    ConversationKey Conversation,
    string MessageId,
    string UserId,
    string DisplayName,
    string Text,
    ReplyTarget ReplyTarget)
{
    /// <summary>
    /// The event's name for de-duplication: <c>{instance}:{MessageId}</c>, where the instance (the Telegram
    /// bot id, the Slack team) is the conversation key's part after the platform, so that two bots on one
    /// Redis never take each other's events for redeliveries.
    /// </summary>
    public string DeduplicationId
    {
        get
        {
            var key = Conversation.Value;
            var start = key.IndexOf(':', StringComparison.Ordinal) + 1;
            var end = key.IndexOf(':', start);
            return (end < 0 ? key[start..] : key[start..end]) + ":" + MessageId;
        }
    }

    /// <summary>
    /// The text of the message the user replied to (quoted), when it was not the bot's own; the relay puts
    /// it before <see cref="Text"/> for the agent (<c>Bridge:QuotedContext</c>). Null when none.
    /// </summary>
    public string? Quote { get; init; }

    /// <summary>When the adapter received the event; used for end-to-end latency.</summary>
    public DateTimeOffset ReceivedAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>
    /// The bot or app of <see cref="Platform"/> that received the message and must answer it: empty for
    /// the platform's first, default entry (as every message of a single-bot bridge), else the entry's id
    /// (the Telegram bot id, the Slack app id). Selects the <see cref="IReplySender"/> together with the platform.
    /// </summary>
    public string Instance { get; init; } = "";

    /// <summary>The agent that answers, as its channel entry names it; null for <c>Osvi:AgentUuid</c>.</summary>
    public string? AgentUuid { get; init; }
}

/// <summary>
/// Where a reply is delivered, in platform-neutral strings so it survives serialization:
/// Telegram chat id / topic id / message id, or Slack channel / thread ts / message ts.
/// </summary>
/// <param name="ChatId">The chat or channel.</param>
/// <param name="ThreadId">A forum topic or thread to answer in, if any.</param>
/// <param name="ReplyToMessageId">The user's message to reply to (quoted in groups), if any.</param>
public sealed record ReplyTarget(string ChatId, string? ThreadId = null, string? ReplyToMessageId = null);
