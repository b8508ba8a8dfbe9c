using System.Diagnostics;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Osvi;
using Osvi.Bridge.Sessions;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Relay;

/// <summary>
/// The per-message use case: run a bridge command, or find the conversation's session, ask the
/// agent and hand the answer to the platform's <see cref="IReplySender"/>. Knows OSVI and the
/// session store, nothing of any platform. Never throws for one conversation's trouble.
/// </summary>
public sealed partial class MessageRelay : IMessageHandler
{
    private readonly Dictionary<string, IReplySender> _senders;
    private readonly SessionResolver _sessions;
    private readonly OsviClient _osvi;
    private readonly BridgeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<MessageRelay> _logger;
    private readonly BridgeMetrics _metrics;

    public MessageRelay(IEnumerable<IReplySender> senders, SessionResolver sessions, OsviClient osvi,
        IOptions<BridgeOptions> options, TimeProvider time, BridgeMetrics metrics, ILogger<MessageRelay> logger)
    {
        _metrics = metrics;
        _senders = senders.ToDictionary(s => s.Platform, StringComparer.OrdinalIgnoreCase);
        _sessions = sessions;
        _osvi = osvi;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// For a plain text message, starts reading its conversation's session while the message is being
    /// accepted (and, for a conversation without one, taking the lock to start it).
    /// </summary>
    public object? Prepare(InboundMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return string.IsNullOrWhiteSpace(message.Text) || BridgeCommandParser.Parse(message.Text) != BridgeCommand.None
            || !_senders.ContainsKey(message.Platform)
            ? null
            : _sessions.PrefetchAsync(message.Conversation);
    }

    public void Abandon(object? prepared)
    {
        if (prepared is Task<SessionLockAttempt?> prefetched)
        {
            _ = _sessions.AbandonAsync(prefetched);
        }
    }

    public Task HandleAsync(InboundMessage message, CancellationToken cancellationToken) => HandleAsync(message, null, cancellationToken);

    public async Task HandleAsync(InboundMessage message, object? prepared, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var started = _time.GetTimestamp();
        var state = new HandlingState();
        using var activity = BridgeMetrics.ActivitySource.StartActivity("handle message");
        activity?.SetTag("osvi_bridge.platform", message.Platform);
        activity?.SetTag("osvi_bridge.conversation", message.Conversation.Value);
        using var scope = _logger.BeginScope(new LogFields(
            "Platform", message.Platform, "ConversationKey", message.Conversation.Value, "MessageId", message.MessageId));

        if (!_senders.TryGetValue(message.Platform, out var sender))
        {
            LogNoSender(_logger, message.Platform);
            return;
        }
        LogText(_logger, message.Text);

        try
        {
            state.Outcome = BridgeCommandParser.Parse(message.Text) switch
            {
                BridgeCommand.Start => await StartAsync(message, sender, state, cancellationToken),
                BridgeCommand.Reset => await ResetAsync(message, sender, cancellationToken),
                BridgeCommand.Help => await SendAsync(sender, message.ReplyTarget, _options.HelpMessage, "help", cancellationToken),
                _ => await AnswerAsync(message, sender, state, prepared as Task<SessionLockAttempt?>, cancellationToken),
            };
        }
        catch (ReplyDeliveryException ex)
        {
            state.Outcome = "undeliverable";
            LogUndeliverable(_logger, ex, message.Platform, ex.Message);
        }
        finally
        {
            activity?.SetTag("osvi_bridge.session", state.SessionId);
            activity?.SetTag("osvi_bridge.outcome", state.Outcome);
            switch (state.Outcome)
            {
                case "answered":
                    _metrics.Answered(message.Platform);
                    _metrics.EndToEnd(message.Platform, _time.GetUtcNow() - message.ReceivedAt);
                    break;
                case "failed" or "undeliverable" or "unfinished":
                    _metrics.Failed(message.Platform, state.Outcome);
                    break;
            }
            LogHandled(_logger, message.Platform, message.Conversation.Value, state.SessionId ?? "-",
                _time.GetElapsedTime(started).TotalMilliseconds, state.Outcome);
        }
    }

    private async Task<string> AnswerAsync(InboundMessage message, IReplySender sender, HandlingState state, Task<SessionLockAttempt?>? prefetched,
        CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(message.Text))
        {
            return "ignored-empty";
        }

        IAsyncDisposable? progress = null;
        ResolvedSession? started = null;
        try
        {
            var session = await _sessions.GetOrCreateAsync(message.Conversation, message.DisplayName, prefetched, cancellationToken);
            started = session;
            state.SessionId = session.SessionId;
            using var sessionScope = _logger.BeginScope(new LogFields("SessionId", session.SessionId));
            if (session.Created && _options.SendWelcomeMessage && !string.IsNullOrWhiteSpace(session.WelcomeMessage))
            {
                await sender.SendAsync(message.ReplyTarget, session.WelcomeMessage, cancellationToken);
            }
            // Shown after the welcome, so a platform that answers into its progress placeholder
            // puts the agent's answer there, below the welcome.
            progress = await TryShowProgressAsync(sender, message.ReplyTarget, cancellationToken);

            OsviReply reply;
            try
            {
                reply = await AskAgentAsync(session.SessionId, message.Text, cancellationToken);
            }
            catch (OsviSessionNotFoundException ex)
            {
                LogSessionGone(_logger, ex, session.SessionId);
                // Its own store must land before the replacement removes it.
                await ConfirmStoredAsync(session);
                session = await _sessions.ReplaceAsync(message.Conversation, message.DisplayName, cancellationToken);
                state.SessionId = session.SessionId;
                reply = await AskAgentAsync(session.SessionId, message.Text, cancellationToken);
            }

            if (string.IsNullOrWhiteSpace(reply.Response))
            {
                LogEmptyResponse(_logger, session.SessionId);
                return "empty-response";
            }
            await sender.SendAsync(message.ReplyTarget, reply.Response, cancellationToken);
            return "answered";
        }
        catch (OsviException ex)
        {
            LogAgentFailed(_logger, ex, message.Platform, message.Conversation.Value, state.SessionId ?? "-", ex.GetType().Name);
            await sender.SendAsync(message.ReplyTarget, _options.ApologyMessage, cancellationToken);
            return "failed";
        }
        finally
        {
            if (progress is not null)
            {
                await progress.DisposeAsync();
            }
            if (started is not null)
            {
                await ConfirmStoredAsync(started);
            }
        }
    }

    /// <summary>
    /// Waits for a just-started session to be stored. The answer has gone out either way; if the
    /// store failed, the conversation's next message starts another session, which is worth a warning.
    /// </summary>
    private async Task ConfirmStoredAsync(ResolvedSession session)
    {
        try
        {
            await session.Stored;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogSessionNotStored(_logger, ex, session.SessionId);
        }
    }

    private async Task<OsviReply> AskAgentAsync(string sessionId, string text, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        try
        {
            return await _osvi.SendMessageAsync(sessionId, text, cancellationToken);
        }
        finally
        {
            _metrics.AgentLatency(_time.GetElapsedTime(started));
        }
    }

    private async Task<string> StartAsync(InboundMessage message, IReplySender sender, HandlingState state, CancellationToken cancellationToken)
    {
        try
        {
            var session = await _sessions.GetOrCreateAsync(message.Conversation, message.DisplayName, cancellationToken);
            state.SessionId = session.SessionId;
            await session.Stored;
            var text = !session.Created ? _options.AlreadyStartedMessage
                : string.IsNullOrWhiteSpace(session.WelcomeMessage) ? _options.HelpMessage
                : session.WelcomeMessage;
            return await SendAsync(sender, message.ReplyTarget, text, "started", cancellationToken);
        }
        catch (OsviException ex)
        {
            LogAgentFailed(_logger, ex, message.Platform, message.Conversation.Value, state.SessionId ?? "-", ex.GetType().Name);
            return await SendAsync(sender, message.ReplyTarget, _options.ApologyMessage, "failed", cancellationToken);
        }
    }

    private async Task<string> ResetAsync(InboundMessage message, IReplySender sender, CancellationToken cancellationToken)
    {
        await _sessions.ResetAsync(message.Conversation, cancellationToken);
        return await SendAsync(sender, message.ReplyTarget, _options.ResetMessage, "reset", cancellationToken);
    }

    private static async Task<string> SendAsync(IReplySender sender, ReplyTarget target, string text, string outcome, CancellationToken cancellationToken)
    {
        await sender.SendAsync(target, text, cancellationToken);
        return outcome;
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
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Handled {Platform} message of {ConversationKey} (session {SessionId}) in {LatencyMs:0} ms: {Outcome}")]
    private static partial void LogHandled(ILogger logger, string platform, string conversationKey, string sessionId, double latencyMs, string outcome);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Message text: {Text}")]
    private static partial void LogText(ILogger logger, string text);

    [LoggerMessage(Level = LogLevel.Error, Message = "No reply sender for platform {Platform}; message dropped")]
    private static partial void LogNoSender(ILogger logger, string platform);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId} was started and answered but could not be saved; the conversation's next message starts another")]
    private static partial void LogSessionNotStored(ILogger logger, Exception exception, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "OSVI no longer knows session {SessionId}; starting a new one and resending once")]
    private static partial void LogSessionGone(ILogger logger, Exception exception, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The agent returned an empty response in session {SessionId}; nothing sent")]
    private static partial void LogEmptyResponse(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "The agent could not answer {Platform} conversation {ConversationKey} (session {SessionId}): {ErrorKind}; the user got the apology")]
    private static partial void LogAgentFailed(ILogger logger, Exception exception, string platform, string conversationKey, string sessionId, string errorKind);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Platform} refused the reply for good: {Reason}")]
    private static partial void LogUndeliverable(ILogger logger, Exception exception, string platform, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not show progress")]
    private static partial void LogProgressFailed(ILogger logger, Exception exception);
}
