using Microsoft.Extensions.Options;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Handoff;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Osvi;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Relay;

/// <summary>
/// The per-message use case: run a bridge command, or find the conversation's session, ask the agent
/// and hand the answer to the platform's <see cref="IReplySender"/>. Knows OSVI and the session store,
/// nothing of any platform or of the inbox behind it. What it decided to send, and each part delivered,
/// is written to the message's journal whenever a delivery cannot finish (and after every part but the
/// last), so that a later attempt sends only what is missing and does not ask the agent again. Returns an outcome: finished,
/// retry later (a platform or Redis failure; on the last attempt the user gets the apology), or dead letter.
/// </summary>
public sealed partial class MessageRelay : IMessageHandler
{
    private readonly Dictionary<(string Platform, string Instance), IReplySender> _senders;
    private readonly SessionResolver _sessions;
    private readonly AgentDirectory _agents;
    private readonly BridgeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<MessageRelay> _logger;
    private readonly BridgeMetrics _metrics;
    private readonly ApologyCooldown _apologies;
    private readonly Dictionary<(string Platform, string Instance), IQuoteSource> _quotes;
    private readonly IHumanHandoff _handoff;

    public MessageRelay(IEnumerable<IReplySender> senders, SessionResolver sessions, AgentDirectory agents,
        IOptions<BridgeOptions> options, TimeProvider time, BridgeMetrics metrics, ILogger<MessageRelay> logger,
        IEnumerable<IQuoteSource> quotes, IHumanHandoff? handoff = null)
    {
        _quotes = quotes.ToDictionary(q => (q.Platform.ToLowerInvariant(), q.Instance));
        _handoff = handoff ?? new NoHumanHandoff();
        _metrics = metrics;
        // The reply goes out through the bot or app that received the message, never another one.
        _senders = senders.ToDictionary(s => (s.Platform.ToLowerInvariant(), s.Instance));
        _sessions = sessions;
        _agents = agents;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _apologies = new ApologyCooldown(_options.ApologyCooldown, time);
    }

    public async Task<HandlingOutcome> HandleAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var message = delivery.Message;
        var started = _time.GetTimestamp();
        var state = new HandlingState();
        using var activity = BridgeMetrics.ActivitySource.StartActivity("handle message");
        activity?.SetTag("osvi_bridge.platform", message.Platform);
        activity?.SetTag("osvi_bridge.conversation", message.Conversation.Value);
        activity?.SetTag("osvi_bridge.attempt", delivery.Attempt);
        if (message.Instance.Length > 0)
        {
            activity?.SetTag("osvi_bridge.instance", message.Instance);
        }
        if (message.AgentUuid is not null)
        {
            activity?.SetTag("osvi_bridge.agent", message.AgentUuid);
        }
        // A single-bot bridge logs the three fields it always did; a bot or app of a list adds which one, and its agent.
        using var scope = _logger.BeginScope(message.Instance.Length == 0 && message.AgentUuid is null
            ? new LogFields("Platform", message.Platform, "ConversationKey", message.Conversation.Value, "MessageId", message.MessageId)
            : new LogFields(new("Platform", message.Platform), new("Instance", message.Instance), new("Agent", message.AgentUuid ?? "(default)"),
                new("ConversationKey", message.Conversation.Value), new("MessageId", message.MessageId)));

        if (!_senders.TryGetValue((message.Platform.ToLowerInvariant(), message.Instance), out var sender))
        {
            LogNoSender(_logger, message.Platform, message.Instance);
            return HandlingOutcome.DeadLetter(message.Instance.Length == 0
                ? $"no reply sender for platform '{message.Platform}' in this bridge"
                : $"no reply sender for {message.Platform} '{message.Instance}' in this bridge (is that bot or app still configured?)");
        }
        LogText(_logger, message.Text);

        var outcome = HandlingOutcome.Done;
        try
        {
            var record = delivery.Journal.Record;
            if (record.Final)
            {
                // An earlier attempt stored what to send: deliver the rest, do not ask again.
                state.Outcome = "redelivered";
            }
            else
            {
                record = await DecideAsync(message, sender, delivery.Journal, record, state, cancellationToken);
            }
            await DeliverAsync(sender, message.ReplyTarget, delivery.Journal, record, cancellationToken);
            if (state.AfterDelivery is { } tellSupport)
            {
                // The support channel hears of the turn once the user has the answer (it never throws).
                await tellSupport(cancellationToken);
            }
        }
        catch (ReplyDeliveryException ex)
        {
            state.Outcome = "undeliverable";
            LogUndeliverable(_logger, ex, message.Platform, ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The platform or Redis failed for now: the message stays in the inbox, with what was
            // already delivered recorded, and is tried again; on its last attempt the user hears so.
            LogTransient(_logger, message.Platform, message.Conversation.Value, delivery.Attempt, ex.GetType().Name, ex.Message);
            if (delivery.IsLastAttempt)
            {
                state.Outcome = "failed";
                await TryApologizeAsync(sender, message, cancellationToken);
                outcome = HandlingOutcome.DeadLetter($"gave up after {delivery.Attempt} attempts: {ex.GetType().Name}: {ex.Message}");
            }
            else
            {
                state.Outcome = "retry";
                outcome = HandlingOutcome.RetryLater(ex.GetType().Name + ": " + ex.Message);
            }
        }
        finally
        {
            if (state.Progress is not null)
            {
                await state.Progress.DisposeAsync();
            }
            activity?.SetTag("osvi_bridge.session", state.SessionId);
            activity?.SetTag("osvi_bridge.outcome", state.Outcome);
            switch (state.Outcome)
            {
                case "answered" or "redelivered":
                    _metrics.Answered(message.Platform, message.Instance);
                    _metrics.EndToEnd(message.Platform, _time.GetUtcNow() - message.ReceivedAt, message.Instance);
                    break;
                case "failed" or "undeliverable" or "unfinished":
                    _metrics.Failed(message.Platform, state.Outcome, message.Instance);
                    break;
            }
            LogHandled(_logger, message.Platform, message.Conversation.Value, state.SessionId ?? "-",
                _time.GetElapsedTime(started).TotalMilliseconds, state.Outcome);
        }
        return outcome;
    }

    /// <summary>Works out the replies (running a command or asking the agent); returns the final record, stored.</summary>
    private async Task<MessageRecord> DecideAsync(InboundMessage message, IReplySender sender, IMessageJournal journal, MessageRecord record,
        HandlingState state, CancellationToken cancellationToken)
    {
        string? reply;
        switch (BridgeCommandParser.Parse(message.Text))
        {
            case BridgeCommand.Start:
                reply = await StartAsync(message, state, cancellationToken);
                break;
            case BridgeCommand.Reset:
                await _sessions.ResetAsync(message, cancellationToken);
                (reply, state.Outcome) = (_options.ResetMessage, "reset");
                break;
            case BridgeCommand.Help:
                (reply, state.Outcome) = (_options.HelpMessage, "help");
                break;
            default:
                if (string.IsNullOrWhiteSpace(message.Text))
                {
                    state.Outcome = "ignored-empty";
                    return record with { Final = true };
                }
                (record, reply) = await AnswerAsync(message, sender, journal, record, state, cancellationToken);
                break;
        }
        // Not stored yet: delivery stores it if it cannot finish (or after a part of several), which
        // keeps a round trip off every answer; a crash in between asks the agent again on replay.
        return reply is null ? record with { Final = true } : record.Append(reply, final: true);
    }

    private async Task<(MessageRecord Record, string? Reply)> AnswerAsync(InboundMessage message, IReplySender sender, IMessageJournal journal,
        MessageRecord record, HandlingState state, CancellationToken cancellationToken)
    {
        try
        {
            var session = await _sessions.GetOrCreateAsync(message.Conversation, message, cancellationToken);
            state.SessionId = session.SessionId;
            using var sessionScope = _logger.BeginScope(new LogFields("SessionId", session.SessionId));
            if (session.Created && _options.SendWelcomeMessage && !string.IsNullOrWhiteSpace(session.WelcomeMessage))
            {
                // Delivered before the agent is asked (it can take seconds), and recorded, so that a
                // replay neither repeats it nor, having a session now, gets another one.
                record = await DeliverAsync(sender, message.ReplyTarget, journal, record.Append(session.WelcomeMessage, final: false), cancellationToken);
            }
            // The quote sources read with the default bot's or app's token: another one's threads are not theirs to read.
            if (session.Created && message.Quote is null && _options.QuotedContext
                && _quotes.TryGetValue((message.Platform.ToLowerInvariant(), message.Instance), out var quotes))
            {
                message = message with { Quote = await TryFindQuoteAsync(quotes, message, cancellationToken) };
            }
            // Shown after the welcome, so a platform that answers into its progress placeholder puts
            // the agent's answer there, below the welcome. While an operator has the conversation the
            // agent does not answer: nothing shows progress.
            state.Handoff = await _handoff.FindAsync(session.SessionId, cancellationToken);
            if (!state.Handoff.OperatorActive)
            {
                state.Progress = await TryShowProgressAsync(sender, message.ReplyTarget, cancellationToken);
            }

            AgentTurn reply;
            try
            {
                reply = await AskAgentAsync(session.SessionId, message, cancellationToken);
            }
            catch (OsviSessionNotFoundException ex)
            {
                LogSessionGone(_logger, ex, session.SessionId);
                session = await _sessions.ReplaceAsync(message.Conversation, message, cancellationToken);
                state.SessionId = session.SessionId;
                reply = await AskAgentAsync(session.SessionId, message, cancellationToken);
            }
            if (reply.SessionId != session.SessionId)
            {
                // v1 answered in another session (it may move a customer on): keep the conversation there.
                await _sessions.FollowAsync(message, reply.SessionId, cancellationToken);
                state.SessionId = reply.SessionId;
            }
            var handoff = state.Handoff;
            state.AfterDelivery = token => _handoff.AfterTurnAsync(message, reply, handoff, token);

            if (string.IsNullOrWhiteSpace(reply.Text) && reply.HumanHasConversation)
            {
                LogHumanHasConversation(_logger, reply.SessionId);
                state.Outcome = "support-mode";
                return (record, null);
            }
            if (string.IsNullOrWhiteSpace(reply.Text))
            {
                LogEmptyResponse(_logger, session.SessionId);
                state.Outcome = "empty-response";
                return (record, null);
            }
            state.Outcome = "answered";
            _apologies.Forget(message.Conversation);
            return (record, reply.Text);
        }
        catch (OsviException ex)
        {
            return (record, AgentFailed(ex, message, state));
        }
    }

    /// <summary>
    /// Sends the record's replies that are not delivered yet, from the part where the last attempt
    /// stopped, recording each delivered part. The very last part is not recorded: the message leaves
    /// the inbox right after it, which says the same.
    /// </summary>
    private static async Task<MessageRecord> DeliverAsync(IReplySender sender, ReplyTarget target, IMessageJournal journal, MessageRecord record,
        CancellationToken cancellationToken)
    {
        while (record.RepliesDone < record.Replies.Count)
        {
            var index = record.RepliesDone;
            var last = record.Final && index == record.Replies.Count - 1;
            var current = record;
            var progress = new ReplyProgress(record.PartsDone, async (done, total, token) =>
            {
                current = done >= total ? current with { RepliesDone = index + 1, PartsDone = 0 } : current with { PartsDone = done };
                if (!(last && done >= total))
                {
                    await journal.SaveAsync(current, token);
                }
            });
            try
            {
                await sender.SendAsync(target, record.Replies[index], progress, cancellationToken);
            }
            catch (Exception ex) when (ex is not ReplyDeliveryException && !cancellationToken.IsCancellationRequested)
            {
                // The message will be tried again (maybe by another replica): it must find the answer
                // and how far its delivery got, not ask the agent again.
                await TrySaveAsync(journal, current);
                throw;
            }
            record = current with { RepliesDone = index + 1, PartsDone = 0 };
        }
        return record;
    }

    private static async Task TrySaveAsync(IMessageJournal journal, MessageRecord record)
    {
        try
        {
            await journal.SaveAsync(record, CancellationToken.None);
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            // Redis is failing too: the next attempt asks the agent again.
        }
    }

    private async Task<AgentTurn> AskAgentAsync(string sessionId, InboundMessage message, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        try
        {
            return await _agents.For(message).SendAsync(sessionId, message.Conversation, QuotedContext.ForAgent(message, _options), cancellationToken);
        }
        finally
        {
            _metrics.AgentLatency(_time.GetElapsedTime(started));
        }
    }

    private async Task<string?> StartAsync(InboundMessage message, HandlingState state, CancellationToken cancellationToken)
    {
        try
        {
            var session = await _sessions.GetOrCreateAsync(message.Conversation, message, cancellationToken);
            state.SessionId = session.SessionId;
            state.Outcome = "started";
            return !session.Created ? _options.AlreadyStartedMessage
                : string.IsNullOrWhiteSpace(session.WelcomeMessage) ? _options.HelpMessage
                : session.WelcomeMessage;
        }
        catch (OsviException ex)
        {
            return AgentFailed(ex, message, state);
        }
    }

    /// <summary>
    /// The apology for a conversation the agent could not answer, or null within the conversation's
    /// <c>Bridge:ApologyCooldown</c>. An outage is expected and said once (OSVI's refusal of the token once
    /// per burst by <see cref="OsviAuthState"/>): one line per message, no stack trace; other faults keep theirs.
    /// </summary>
    private string? AgentFailed(OsviException exception, InboundMessage message, HandlingState state)
    {
        state.Outcome = "failed";
        // While an operator has the conversation the user is waiting for them, not for the agent: no apology.
        var apologize = !state.Handoff.OperatorActive && _apologies.TryTake(message.Conversation);
        if (apologize || state.Handoff.OperatorActive)
        {
            // Fail toward a human: the support channel hears of it (once per apology, so an outage does not flood it).
            var (handoff, failedSession, reason) = (state.Handoff, state.SessionId, exception.Message);
            state.AfterDelivery = token => _handoff.AgentFailedAsync(message, failedSession, handoff, reason, token);
        }
        var sessionId = state.SessionId ?? "-";
        var kind = exception.GetType().Name;
        switch (exception)
        {
            case OsviAuthenticationException:
                LogAgentRefused(_logger, message.Platform, message.Conversation.Value, sessionId, exception.StatusCode ?? 0, apologize);
                break;
            case OsviUnavailableException:
                LogAgentUnavailable(_logger, message.Platform, message.Conversation.Value, sessionId, exception.Message, apologize);
                break;
            default:
                LogAgentFailed(_logger, exception, message.Platform, message.Conversation.Value, sessionId, kind, apologize);
                break;
        }
        return apologize ? _options.ApologyMessage : null;
    }

    private async Task TryApologizeAsync(IReplySender sender, InboundMessage message, CancellationToken cancellationToken)
    {
        if (!_apologies.TryTake(message.Conversation))
        {
            LogApologyWithheld(_logger, message.Platform, message.Conversation.Value);
            return;
        }
        try
        {
            await sender.SendAsync(message.ReplyTarget, _options.ApologyMessage, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogApologyFailed(_logger, ex.GetType().Name, ex.Message);
        }
    }

    private async Task<string?> TryFindQuoteAsync(IQuoteSource source, InboundMessage message, CancellationToken cancellationToken)
    {
        try
        {
            return await source.FindAsync(message, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Context is a nicety: the user's words still go to the agent.
            LogQuoteFailed(_logger, message.Platform, ex.GetType().Name, ex.Message);
            return null;
        }
    }

    private async Task<IAsyncDisposable?> TryShowProgressAsync(IReplySender sender, ReplyTarget target, CancellationToken cancellationToken)
    {
        try
        {
            return await sender.ShowProgressAsync(target, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A missing typing indicator is cosmetic; the answer still matters.
            LogProgressFailed(_logger, ex);
            return null;
        }
    }

    private sealed class HandlingState
    {
        public string? SessionId { get; set; }
        public string Outcome { get; set; } = "unfinished";
        public IAsyncDisposable? Progress { get; set; }
        public HandoffStatus Handoff { get; set; } = HandoffStatus.None;

        /// <summary>What the support channel is told once the user's replies are delivered.</summary>
        public Func<CancellationToken, Task>? AfterDelivery { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Handled {Platform} message of {ConversationKey} (session {SessionId}) in {LatencyMs:0} ms: {Outcome}")]
    private static partial void LogHandled(ILogger logger, string platform, string conversationKey, string sessionId, double latencyMs, string outcome);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Message text: {Text}")]
    private static partial void LogText(ILogger logger, string text);

    [LoggerMessage(Level = LogLevel.Error, Message = "No reply sender for platform {Platform} (instance '{Instance}'); message dead-lettered")]
    private static partial void LogNoSender(ILogger logger, string platform, string instance);

    [LoggerMessage(Level = LogLevel.Warning, Message = "OSVI no longer knows session {SessionId}; starting a new one and resending once")]
    private static partial void LogSessionGone(ILogger logger, Exception exception, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The agent returned an empty response in session {SessionId}; nothing sent")]
    private static partial void LogEmptyResponse(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "The agent could not answer {Platform} conversation {ConversationKey} (session {SessionId}): {ErrorKind}; apology sent: {Apologized}")]
    private static partial void LogAgentFailed(ILogger logger, Exception exception, string platform, string conversationKey, string sessionId, string errorKind,
        bool apologized);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "OSVI refused the token for {Platform} conversation {ConversationKey} (session {SessionId}, HTTP {StatusCode}); apology sent: {Apologized} (at most once per Bridge:ApologyCooldown)")]
    private static partial void LogAgentRefused(ILogger logger, string platform, string conversationKey, string sessionId, int statusCode, bool apologized);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "OSVI could not answer {Platform} conversation {ConversationKey} (session {SessionId}): {Reason}; apology sent: {Apologized} (at most once per Bridge:ApologyCooldown)")]
    private static partial void LogAgentUnavailable(ILogger logger, string platform, string conversationKey, string sessionId, string reason, bool apologized);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "{Platform} conversation {ConversationKey} got the apology within Bridge:ApologyCooldown already; nothing sent")]
    private static partial void LogApologyWithheld(ILogger logger, string platform, string conversationKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Platform} refused the reply for good: {Reason}")]
    private static partial void LogUndeliverable(ILogger logger, Exception exception, string platform, string reason);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "{Platform} conversation {ConversationKey}: attempt {Attempt} failed for now ({ErrorKind}: {Reason}); the message stays in the inbox")]
    private static partial void LogTransient(ILogger logger, string platform, string conversationKey, int attempt, string errorKind, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not send the apology either ({ErrorKind}: {Reason})")]
    private static partial void LogApologyFailed(ILogger logger, string errorKind, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "A human operator has session {SessionId} (mode support) and the agent stayed silent; nothing sent")]
    private static partial void LogHumanHasConversation(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the quoted context from {Platform} ({ErrorKind}: {Reason}); asking the agent without it")]
    private static partial void LogQuoteFailed(ILogger logger, string platform, string errorKind, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not show progress")]
    private static partial void LogProgressFailed(ILogger logger, Exception exception);
}
