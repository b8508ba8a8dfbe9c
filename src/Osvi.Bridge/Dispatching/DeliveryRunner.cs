using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Dispatching;

/// <summary>How one message ended in this process.</summary>
public enum DeliveryResult
{
    /// <summary>Finished: it leaves the inbox.</summary>
    Finished,

    /// <summary>Given up after its attempts, or refused by the handler: it goes to the dead letters.</summary>
    DeadLettered,

    /// <summary>The bridge stopped first: it stays in the inbox for the next start or another replica.</summary>
    Abandoned,
}

/// <summary>
/// The attempts at one message, shared by both inboxes: runs the handler, pauses and tries again on a
/// retry outcome (with capped exponential back-off, holding the conversation's turn so that later
/// messages keep their place behind it), and gives up after <see cref="InboxOptions.MaxAttempts"/>.
/// </summary>
public sealed partial class DeliveryRunner(
    IMessageHandler handler,
    IOptions<InboxOptions> options,
    HandledMessages handled,
    TimeProvider time,
    BridgeMetrics metrics,
    ILogger<DeliveryRunner> logger)
{
    private readonly InboxOptions _options = options.Value;

    /// <summary>
    /// Runs attempts from <paramref name="previousAttempts"/> + 1 on; returns the result with the reason
    /// of the last outcome. Never throws, also not when <paramref name="cancellationToken"/> ends it.
    /// </summary>
    public async Task<(DeliveryResult Result, string Reason)> RunAsync(InboundMessage message, IMessageJournal journal, int previousAttempts,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var attempt = previousAttempts + 1;
        var outcome = await RunCoreAsync(message, journal, attempt, cancellationToken);
        handled.Report(message, outcome.Result);
        return outcome;
    }

    private async Task<(DeliveryResult Result, string Reason)> RunCoreAsync(InboundMessage message, IMessageJournal journal, int attempt,
        CancellationToken cancellationToken)
    {
        if (attempt > _options.MaxAttempts)
        {
            // Only a message that took the process down with it gets here (its earlier attempts never returned).
            return (DeliveryResult.DeadLettered, $"delivered {attempt - 1} times without finishing (the bridge stopped or died each time)");
        }
        while (true)
        {
            HandlingOutcome outcome;
            try
            {
                outcome = await handler.HandleAsync(new Delivery(message, attempt, attempt >= _options.MaxAttempts, journal), cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                LogAbandoned(logger, message.Platform, message.Conversation.Value, message.MessageId);
                return (DeliveryResult.Abandoned, "the bridge stopped");
            }
            catch (Exception ex)
            {
                // The handler reports its own failures; anything else is a fault worth its stack trace.
                LogHandlerFault(logger, ex, message.Platform, message.Conversation.Value, message.MessageId);
                outcome = HandlingOutcome.RetryLater(ex.GetType().Name + ": " + ex.Message);
            }

            switch (outcome)
            {
                case HandlingOutcome.Finished:
                    return (DeliveryResult.Finished, outcome.Reason);
                case HandlingOutcome.GiveUp:
                    return (DeliveryResult.DeadLettered, outcome.Reason);
            }
            if (attempt >= _options.MaxAttempts)
            {
                return (DeliveryResult.DeadLettered, $"gave up after {attempt} attempts: {outcome.Reason}");
            }
            var delay = RetryDelay(attempt);
            LogRetrying(logger, message.Platform, message.Conversation.Value, message.MessageId, attempt, outcome.Reason, delay);
            metrics.InboxRetry(message.Platform, message.Instance);
            try
            {
                await Task.Delay(delay, time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                LogAbandoned(logger, message.Platform, message.Conversation.Value, message.MessageId);
                return (DeliveryResult.Abandoned, "the bridge stopped");
            }
            attempt++;
        }
    }

    private TimeSpan RetryDelay(int attempt)
    {
        var delay = _options.RetryDelay * Math.Pow(2, Math.Min(attempt - 1, 30));
        return delay > _options.MaxRetryDelay ? _options.MaxRetryDelay : delay;
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Message {MessageId} of {Platform} conversation {ConversationKey}: attempt {Attempt} did not finish ({Reason}); trying again in {Delay}")]
    private static partial void LogRetrying(ILogger logger, string platform, string conversationKey, string messageId, int attempt, string reason, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Information, Message = "Message {MessageId} of {Platform} conversation {ConversationKey} was left unfinished: the bridge stopped first")]
    private static partial void LogAbandoned(ILogger logger, string platform, string conversationKey, string messageId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling message {MessageId} of {Platform} conversation {ConversationKey} failed unexpectedly")]
    private static partial void LogHandlerFault(ILogger logger, Exception exception, string platform, string conversationKey, string messageId);
}
