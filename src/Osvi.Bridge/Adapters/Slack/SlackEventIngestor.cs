using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Dispatching;
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
/// The shared last step of Socket Mode and the Events API: parse the payload and hand the message to
/// the <see cref="IInbox"/>, with no Slack Web API call in between (the sender's name is looked up
/// only when a session is started: <see cref="SlackUserDirectory"/>), so the caller can acknowledge
/// Slack as soon as this returned. <see cref="InboxClosedException"/> passes through so that it does not.
/// A text above <c>Bridge:MaxInboundLength</c> never reaches the inbox: the user gets
/// <c>Bridge:TooLongMessage</c> in the background, once per message (the de-duplication mark it takes
/// keeps Slack's redeliveries from repeating it), as Telegram's adapter does.
/// </summary>
public sealed partial class SlackEventIngestor
{
    private readonly SlackBotIdentityHolder _identity;
    private readonly IInbox _inbox;
    private readonly TimeProvider _time;
    private readonly ILogger<SlackEventIngestor> _logger;
    private readonly SlackReplySender _sender;
    private readonly IDeduplicationStore _deduplication;
    private readonly BridgeOptions _bridge;
    private readonly IOptions<SlackOptions> _slack;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly string? _supportChannel;

    public SlackEventIngestor(SlackBotIdentityHolder identity, IInbox inbox, SlackReplySender sender, IDeduplicationStore deduplication,
        IOptions<BridgeOptions> bridge, IOptions<SlackOptions> slack, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<SlackEventIngestor> logger,
        SlackSupportChannel? supportChannel = null)
    {
        _slack = slack;
        _supportChannel = supportChannel?.ChannelId;
        _identity = identity;
        _inbox = inbox;
        _sender = sender;
        _deduplication = deduplication;
        _bridge = bridge.Value;
        _lifetime = lifetime;
        _time = time;
        _logger = logger;
    }

    /// <summary>Empty for the default app, else the app's id (<see cref="InboundMessage.Instance"/>).</summary>
    public string Instance => _slack.Value.Instance;

    /// <summary>
    /// The handoff's support threads belong to the default app, which opens them; another app in that
    /// channel leaves operators' posts to it, or they would be handed over twice.
    /// </summary>
    private string? SupportChannel => Instance.Length == 0 ? _supportChannel : null;

    /// <summary>True once <c>auth.test</c> told us who we are; before that events cannot be judged.</summary>
    public bool IsReady => _identity.Current is not null;

    /// <summary>The message to answer in this payload, or null (logged) when it is to be ignored.</summary>
    public SlackUserMessage? Parse(JsonElement payload)
    {
        var identity = _identity.Current ?? throw new InvalidOperationException("The Slack bot identity is not known yet (auth.test).");
        var parsed = SlackEventParser.Parse(payload, identity, SupportChannel, Instance);
        if (parsed.Message is null)
        {
            var eventId = payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty("event_id", out var id) ? id.ToString() : "-";
            LogIgnored(_logger, eventId, parsed.IgnoredReason ?? "-");
        }
        else if (parsed.Message.Text.Length > _bridge.MaxInboundLength)
        {
            LogTooLong(_logger, parsed.Message.MessageId, parsed.Message.Conversation.Value, parsed.Message.Text.Length);
            _ = SendTooLongNoticeAsync(parsed.Message);
            return null;
        }
        return parsed.Message;
    }

    /// <summary>What a slash command (HTTP form or Socket Mode payload) asks for; see <see cref="SlackSlashCommand"/>.</summary>
    public SlackSlashCommand ParseCommand(Func<string, string?> field)
    {
        var identity = _identity.Current ?? throw new InvalidOperationException("The Slack bot identity is not known yet (auth.test).");
        var command = SlackSlashCommand.Parse(field, identity, _slack.Value, _bridge);
        if (command.IgnoredReason is { } reason)
        {
            LogIgnored(_logger, "slash command", reason);
        }
        return command;
    }

    private async Task SendTooLongNoticeAsync(SlackUserMessage message)
    {
        var stopping = _lifetime.ApplicationStopping;
        try
        {
            // The default app keeps the mark it always took; another app's mark names the app.
            var eventId = Instance.Length == 0 ? message.MessageId : Instance + ":" + message.MessageId;
            if (await _deduplication.TryMarkAsync(message.Platform, eventId, stopping))
            {
                await _sender.SendAsync(message.ReplyTarget, _bridge.TooLongMessage.Replace(
                    "{MaxInboundLength}", _bridge.MaxInboundLength.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal), stopping);
            }
        }
        catch (Exception ex)
        {
            // A notice is courtesy: never let one fault an unobserved task.
            LogNoticeFailed(_logger, message.MessageId, ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>Hands a parsed message to the inbox; the user id stands in for the name until a session needs it.</summary>
    public async Task<SlackIngestOutcome> AcceptAsync(SlackUserMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var inbound = new InboundMessage(message.Platform, message.Conversation, message.MessageId, message.UserId,
            message.UserId, message.Text, message.ReplyTarget)
        {
            ReceivedAt = _time.GetUtcNow(),
            Instance = Instance,
            AgentUuid = _slack.Value.AgentUuid,
        };
        var receipt = await _inbox.AcceptAsync(inbound, cancellationToken);
        LogAccepted(_logger, message.MessageId, message.Conversation.Value, receipt.Outcome);
        return receipt.Outcome == InboxOutcome.Accepted ? SlackIngestOutcome.Accepted : SlackIngestOutcome.Duplicate;
    }

    /// <summary>Hands several parsed messages to the inbox at once, in order (one de-duplication round trip).</summary>
    public async Task<IReadOnlyList<SlackIngestOutcome>> AcceptManyAsync(IReadOnlyList<SlackUserMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var now = _time.GetUtcNow();
        var inbound = messages.Select(m => new InboundMessage(m.Platform, m.Conversation, m.MessageId, m.UserId,
            m.UserId, m.Text, m.ReplyTarget) { ReceivedAt = now, Instance = Instance, AgentUuid = _slack.Value.AgentUuid }).ToList();
        var receipts = await _inbox.AcceptManyAsync(inbound, cancellationToken);
        var outcomes = new SlackIngestOutcome[receipts.Count];
        for (var i = 0; i < receipts.Count; i++)
        {
            LogAccepted(_logger, messages[i].MessageId, messages[i].Conversation.Value, receipts[i].Outcome);
            outcomes[i] = receipts[i].Outcome == InboxOutcome.Accepted ? SlackIngestOutcome.Accepted : SlackIngestOutcome.Duplicate;
        }
        return outcomes;
    }

    public async Task<SlackIngestOutcome> IngestAsync(JsonElement payload, CancellationToken cancellationToken) =>
        Parse(payload) is { } message ? await AcceptAsync(message, cancellationToken) : SlackIngestOutcome.Ignored;

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Slack message {MessageId} ({ConversationKey}) has {Length} characters, above Bridge:MaxInboundLength: answered with Bridge:TooLongMessage, not sent to the agent")]
    private static partial void LogTooLong(ILogger logger, string messageId, string conversationKey, int length);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not answer the too-long Slack message {MessageId} ({ErrorKind}: {Reason})")]
    private static partial void LogNoticeFailed(ILogger logger, string messageId, string errorKind, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ignored Slack event {EventId}: {Reason}")]
    private static partial void LogIgnored(ILogger logger, string eventId, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Slack message {MessageId} (conversation {ConversationKey}): {Outcome}")]
    private static partial void LogAccepted(ILogger logger, string messageId, string conversationKey, InboxOutcome outcome);
}
