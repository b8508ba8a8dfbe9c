using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Osvi;
using Osvi.Bridge.Sessions;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Handoff;

/// <summary>
/// Handles an operator's post in a support thread, taken from the inbox like any message (so it survives a crash
/// and keeps its thread's order): runs the command at OSVI's support endpoint (a plain reply takes the session over
/// first, then is recorded as the operator's <c>message</c>), then delivers what the user is to see through that
/// user's platform sender and confirms in the thread. What it decided is journaled before delivery, so a replay
/// neither calls OSVI again nor repeats what was delivered. Posts outside handoff threads are ignored; a thread
/// whose session is closed gets a note.
/// </summary>
public sealed partial class OperatorMessageHandler : IMessageHandler
{
    // The journal keeps strings: the first character says where a reply goes.
    private const char ToUser = 'U';
    private const char ToThread = 'T';

    private readonly IHandoffStore _store;
    private readonly V1AgentConversation _osvi;
    private readonly SupportChannel _channel;
    private readonly Dictionary<string, IReplySender> _senders;
    private readonly ISessionStore _sessions;
    private readonly BridgeMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<OperatorMessageHandler> _logger;

    public OperatorMessageHandler(IHandoffStore store, V1AgentConversation osvi, SupportChannel channel, IEnumerable<IReplySender> senders,
        ISessionStore sessions, BridgeMetrics metrics, TimeProvider time, ILogger<OperatorMessageHandler> logger)
    {
        _store = store;
        _osvi = osvi;
        _channel = channel;
        _senders = senders.ToDictionary(s => s.Platform, StringComparer.OrdinalIgnoreCase);
        _sessions = sessions;
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    public async Task<HandlingOutcome> HandleAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var message = delivery.Message;
        using var scope = _logger.BeginScope(new LogFields(
            "Platform", message.Platform, "ConversationKey", message.Conversation.Value, "MessageId", message.MessageId));
        if (message.ReplyTarget.ThreadId is not { } threadTs
            || await _store.FindByThreadAsync(message.ReplyTarget.ChatId, threadTs, cancellationToken) is not { } thread)
        {
            LogNotAHandoffThread(_logger, message.ReplyTarget.ChatId, message.ReplyTarget.ThreadId ?? "-");
            return HandlingOutcome.Done;
        }
        using var sessionScope = _logger.BeginScope(new LogFields("SessionId", thread.SessionId));
        var outcome = "redelivered";
        try
        {
            var record = delivery.Journal.Record;
            if (!record.Final)
            {
                (var replies, outcome) = await DecideAsync(message, thread, cancellationToken);
                record = new MessageRecord(replies, Final: true, 0, 0);
                // OSVI has acted: a replay must deliver, not act again.
                await delivery.Journal.SaveAsync(record, cancellationToken);
            }
            await DeliverAsync(thread, delivery.Journal, record, cancellationToken);
        }
        catch (OsviUnavailableException ex) when (!delivery.IsLastAttempt)
        {
            LogRetrying(_logger, thread.SessionId, delivery.Attempt, ex.Message);
            return HandlingOutcome.RetryLater("OSVI unavailable: " + ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogRetrying(_logger, thread.SessionId, delivery.Attempt, ex.GetType().Name + ": " + ex.Message);
            if (delivery.IsLastAttempt)
            {
                await TryPostAsync(thread, SupportPosts.OsviFailed("your message", ex.Message), cancellationToken);
                return HandlingOutcome.DeadLetter($"gave up after {delivery.Attempt} attempts: {ex.GetType().Name}: {ex.Message}");
            }
            return HandlingOutcome.RetryLater(ex.GetType().Name + ": " + ex.Message);
        }
        LogHandled(_logger, thread.SessionId, thread.Conversation, outcome);
        return HandlingOutcome.Done;
    }

    /// <summary>Runs the command at OSVI; returns the replies (audience-tagged) and an outcome name for the log.</summary>
    private async Task<(IReadOnlyList<string> Replies, string Outcome)> DecideAsync(InboundMessage message, HandoffThread thread,
        CancellationToken cancellationToken)
    {
        var command = OperatorCommand.Parse(message.Text);
        if (command.Action == OperatorAction.Message && command.Text.Length == 0)
        {
            return ([], "ignored-empty");
        }
        if (command.Action == OperatorAction.Invalid)
        {
            return ([Thread(SupportPosts.Usage(command.Text))], "usage");
        }
        if (thread.Closed || await _sessions.GetAsync(thread.ConversationKey, cancellationToken) != thread.SessionId)
        {
            if (!thread.Closed)
            {
                await _store.CloseAsync(thread.SessionId, cancellationToken);
            }
            return ([Thread(SupportPosts.SessionClosed)], "session-closed");
        }

        var sessionId = thread.SessionId;
        var operatorId = message.UserId;
        try
        {
            switch (command.Action)
            {
                case OperatorAction.Takeover when thread.OperatorActive:
                    return ([Thread(SupportPosts.AlreadyTakenOver(thread.DisplayName))], "already-taken-over");
                case OperatorAction.Takeover:
                    await TakeOverAsync(thread, cancellationToken);
                    return ([Thread(SupportPosts.TookOver(operatorId, thread.DisplayName))], "takeover");
                case OperatorAction.Message:
                {
                    var replies = new List<string>();
                    if (!thread.OperatorActive)
                    {
                        await TakeOverAsync(thread, cancellationToken);
                        replies.Add(Thread(SupportPosts.TookOver(operatorId, thread.DisplayName)));
                    }
                    try
                    {
                        await _osvi.SupportAsync(sessionId, null, command.Text, cancellationToken);
                    }
                    catch (OsviValidationException) when (thread.OperatorActive)
                    {
                        // The session left support mode behind the bridge's back (OSVI's dashboard): take it over again, once.
                        await TakeOverAsync(thread, cancellationToken);
                        replies.Add(Thread(SupportPosts.TookOver(operatorId, thread.DisplayName)));
                        await _osvi.SupportAsync(sessionId, null, command.Text, cancellationToken);
                    }
                    _metrics.HandoffOperatorMessage();
                    await FirstReplyAsync(thread, cancellationToken);
                    replies.Insert(0, User(command.Text));
                    return (replies, "operator-message");
                }
                case OperatorAction.End:
                    await _osvi.SupportAsync(sessionId, SupportCommands.End, null, cancellationToken);
                    await _store.SetOperatorActiveAsync(sessionId, false, cancellationToken);
                    _metrics.HandoffHandBack();
                    return ([Thread(SupportPosts.HandedBack(operatorId, thread.DisplayName))], "hand-back");
                case OperatorAction.Whisper:
                    await _osvi.SupportAsync(sessionId, SupportCommands.Whisper, command.Text, cancellationToken);
                    return ([Thread(SupportPosts.Whispered(thread.DisplayName))], "whisper");
                case OperatorAction.Tell:
                {
                    var reply = (await _osvi.SupportAsync(sessionId, SupportCommands.Tell, command.Text, cancellationToken)).Reply ?? "";
                    await FirstReplyAsync(thread, cancellationToken);
                    return (string.IsNullOrWhiteSpace(reply)
                        ? [Thread(SupportPosts.Told(thread.DisplayName, reply))]
                        : [User(reply), Thread(SupportPosts.Told(thread.DisplayName, reply))], "tell");
                }
                case OperatorAction.Close:
                    await _osvi.SupportAsync(sessionId, SupportCommands.Close, null, cancellationToken);
                    await _store.CloseAsync(sessionId, cancellationToken);
                    if (await _sessions.GetAsync(thread.ConversationKey, cancellationToken) == sessionId)
                    {
                        await _sessions.RemoveAsync(thread.ConversationKey, cancellationToken);
                    }
                    return ([Thread(SupportPosts.ClosedByOperator(operatorId, thread.DisplayName))], "close");
                default:
                    return ([Thread(SupportPosts.Usage(command.Text))], "usage");
            }
        }
        catch (OsviSessionNotFoundException)
        {
            await _store.CloseAsync(sessionId, cancellationToken);
            return ([Thread(SupportPosts.SessionClosed)], "session-closed");
        }
        catch (OsviException ex) when (ex is not OsviUnavailableException)
        {
            // Refused for good (validation, token): retrying cannot help; the operator hears why.
            LogRefused(_logger, sessionId, ex.GetType().Name, ex.Message);
            return ([Thread(SupportPosts.OsviFailed(Describe(command), ex.Message))], "refused");
        }
    }

    private async Task TakeOverAsync(HandoffThread thread, CancellationToken cancellationToken)
    {
        await _osvi.SupportAsync(thread.SessionId, SupportCommands.Takeover, null, cancellationToken);
        await _store.SetOperatorActiveAsync(thread.SessionId, true, cancellationToken);
        _metrics.HandoffTakeover();
    }

    private async Task FirstReplyAsync(HandoffThread thread, CancellationToken cancellationToken)
    {
        if (await _store.MarkAnsweredAsync(thread.SessionId, cancellationToken))
        {
            _metrics.HandoffFirstReply(_time.GetUtcNow() - thread.RequestedAt);
        }
    }

    /// <summary>Delivers the replies not delivered yet: to the user through their platform's sender, or into the thread.</summary>
    private async Task DeliverAsync(HandoffThread thread, IMessageJournal journal, MessageRecord record, CancellationToken cancellationToken)
    {
        while (record.RepliesDone < record.Replies.Count)
        {
            var index = record.RepliesDone;
            var entry = record.Replies[index];
            var text = entry[1..];
            var current = record;
            try
            {
                if (entry[0] == ToUser)
                {
                    await SendToUserAsync(thread, text, journal, record, index, r => current = r, cancellationToken);
                }
                else
                {
                    await PostQuietlyAsync(thread, text, cancellationToken);
                }
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                await TrySaveAsync(journal, current);
                throw;
            }
            record = record with { RepliesDone = index + 1, PartsDone = 0 };
            if (record.RepliesDone < record.Replies.Count)
            {
                await journal.SaveAsync(record, cancellationToken);
            }
        }
    }

    private async Task SendToUserAsync(HandoffThread thread, string text, IMessageJournal journal, MessageRecord record, int index,
        Action<MessageRecord> progressed, CancellationToken cancellationToken)
    {
        if (!_senders.TryGetValue(thread.Platform, out var sender))
        {
            await PostQuietlyAsync(thread, SupportPosts.NotDelivered(thread.DisplayName, $"this bridge has no {thread.Platform} channel"), cancellationToken);
            return;
        }
        var progress = new ReplyProgress(record.PartsDone, async (done, total, token) =>
        {
            var now = record with { PartsDone = done };
            progressed(now);
            if (done < total)
            {
                await journal.SaveAsync(now, token);
            }
        });
        try
        {
            await sender.SendAsync(thread.UserTarget, text, progress, cancellationToken);
            LogDelivered(_logger, thread.Platform, thread.Conversation, index);
        }
        catch (ReplyDeliveryException ex)
        {
            await PostQuietlyAsync(thread, SupportPosts.NotDelivered(thread.DisplayName, ex.Message), cancellationToken);
        }
    }

    /// <summary>A post Slack refuses for good (not in the channel, archived) is logged and dropped; transient failures are thrown.</summary>
    private async Task PostQuietlyAsync(HandoffThread thread, string mrkdwn, CancellationToken cancellationToken)
    {
        try
        {
            await _channel.PostAsync(thread.ThreadTs, mrkdwn, cancellationToken);
        }
        catch (SlackApiException ex) when (!ex.IsTransient)
        {
            LogThreadRefused(_logger, thread.ThreadTs, ex.Error);
        }
    }

    private async Task TryPostAsync(HandoffThread thread, string mrkdwn, CancellationToken cancellationToken)
    {
        try
        {
            await _channel.PostAsync(thread.ThreadTs, mrkdwn, cancellationToken);
        }
        catch (Exception ex) when (ex is SlackApiException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogThreadRefused(_logger, thread.ThreadTs, ex.Message);
        }
    }

    private static async Task TrySaveAsync(IMessageJournal journal, MessageRecord record)
    {
        try
        {
            await journal.SaveAsync(record, CancellationToken.None);
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            // Redis is failing too: a replay may repeat a part.
        }
    }

    private static string User(string text) => ToUser + text;

    private static string Thread(string mrkdwn) => ToThread + mrkdwn;

    private static string Describe(OperatorCommand command) =>
        command.Action == OperatorAction.Message ? "your message" : "!" + command.Action.ToString().ToLowerInvariant();

    [LoggerMessage(Level = LogLevel.Debug, Message = "Support channel post in {Channel}/{ThreadTs} is not in a handoff thread; ignored")]
    private static partial void LogNotAHandoffThread(ILogger logger, string channel, string threadTs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Operator post in the thread of session {SessionId} ({ConversationKey}): {Outcome}")]
    private static partial void LogHandled(ILogger logger, string sessionId, string conversationKey, string outcome);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Operator reply {Index} delivered to {Platform} conversation {ConversationKey}")]
    private static partial void LogDelivered(ILogger logger, string platform, string conversationKey, int index);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Operator post for session {SessionId}: attempt {Attempt} failed for now ({Reason}); it stays in the inbox")]
    private static partial void LogRetrying(ILogger logger, string sessionId, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "OSVI refused the operator's command for session {SessionId}: {ErrorKind}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string sessionId, string errorKind, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Slack refused a post in support thread {ThreadTs}: {Error}")]
    private static partial void LogThreadRefused(ILogger logger, string threadTs, string error);
}
