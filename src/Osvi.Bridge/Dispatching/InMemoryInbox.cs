using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Dispatching;

/// <summary>
/// The single-process inbox (no Redis configured): de-duplicates on arrival, then hands each message to
/// the <see cref="ConversationScheduler"/>, so a conversation's messages run one at a time in arrival
/// order while up to <see cref="BridgeOptions.MaxConcurrency"/> conversations run at once. At most
/// <see cref="BridgeOptions.QueueCapacity"/> messages are held; beyond that adapters wait. Nothing
/// survives the process: on stop it refuses new messages and finishes what it holds within the
/// shutdown timeout, and what is left then is lost (logged). The durable inbox is <see cref="RedisStreamInbox"/>.
/// </summary>
public sealed partial class InMemoryInbox : IInbox, IHostedService, IDisposable
{
    private readonly DeliveryRunner _runner;
    private readonly IDeduplicationStore _deduplication;
    private readonly HandledMessages _handled;
    private readonly BridgeOptions _options;
    private readonly ILogger<InMemoryInbox> _logger;
    private readonly BridgeMetrics _metrics;
    private readonly ConversationScheduler _scheduler;
    private readonly ConversationBacklog<InboundMessage> _backlog = new(static m => m, static _ => true);
    private readonly SemaphoreSlim _capacity;
    private readonly CancellationTokenSource _abort = new();
    private int _closed;

    public InMemoryInbox(DeliveryRunner runner, IDeduplicationStore deduplication, HandledMessages handled, IOptions<BridgeOptions> options,
        BridgeMetrics metrics, ILogger<InMemoryInbox> logger)
    {
        _runner = runner;
        _deduplication = deduplication;
        _handled = handled;
        _options = options.Value;
        _metrics = metrics;
        _logger = logger;
        _scheduler = new ConversationScheduler(_options.MaxConcurrency);
        _capacity = new SemaphoreSlim(_options.QueueCapacity, _options.QueueCapacity);
        metrics.ObserveDispatcher(() => Math.Max(0, _scheduler.Pending - _scheduler.Running), () => _scheduler.Running);
    }

    /// <summary>Messages accepted and not yet finished (queued plus in flight).</summary>
    public int Pending => _scheduler.Pending;

    public async ValueTask<InboxReceipt> AcceptAsync(InboundMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return (await AcceptManyAsync([message], cancellationToken))[0];
    }

    public async ValueTask<IReadOnlyList<InboxReceipt>> AcceptManyAsync(IReadOnlyList<InboundMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (Volatile.Read(ref _closed) == 1)
        {
            throw new InboxClosedException();
        }
        // The ones queued before a failure stay queued; the rest were not marked (or were given back),
        // so their redelivery is answered.
        var receipts = new InboxReceipt[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            if (!await _deduplication.TryMarkAsync(message.Platform, message.DeduplicationId, cancellationToken))
            {
                LogDuplicate(_logger, message.Platform, message.MessageId);
                _metrics.Duplicate(message.Platform, message.Instance);
                _handled.Report(message, DeliveryResult.Finished);
                receipts[i] = new InboxReceipt(InboxOutcome.Duplicate);
                continue;
            }
            try
            {
                await _capacity.WaitAsync(cancellationToken);
            }
            catch
            {
                await UnmarkQuietlyAsync(message);
                throw;
            }
            _metrics.Received(message.Platform, message.Instance);
            _backlog.Add(message.Conversation.Value, message);
            var conversation = message.Conversation.Value;
            _scheduler.Schedule(conversation, () => RunTurnAsync(conversation));
            receipts[i] = new InboxReceipt(InboxOutcome.Accepted);
        }
        return receipts;
    }

    private async Task RunTurnAsync(string conversation)
    {
        var turn = _backlog.TakeTurn(conversation, _options.MergeQueuedMessages, _options.MaxInboundLength);
        if (turn.Count == 0)
        {
            return; // An earlier turn took this message along.
        }
        var message = FollowUps.Join(turn);
        try
        {
            if (_abort.IsCancellationRequested)
            {
                LogLost(_logger, message.Platform, message.Conversation.Value, message.MessageId);
                Report(turn, DeliveryResult.Abandoned);
                return;
            }
            if (turn.Count > 1)
            {
                LogMerged(_logger, message.Platform, message.Conversation.Value, turn.Count);
                _metrics.Merged(message.Platform, turn.Count - 1);
            }
            var (result, reason) = await _runner.RunAsync(message, new InMemoryMessageJournal(), 0, _abort.Token);
            Report(turn.Skip(1), result);
            switch (result)
            {
                case DeliveryResult.DeadLettered:
                    // Without Redis there is nowhere durable to keep it: the reason is all that is left.
                    LogGaveUp(_logger, message.Platform, message.Conversation.Value, message.MessageId, reason);
                    _metrics.DeadLettered(message.Platform, message.Instance);
                    break;
                case DeliveryResult.Abandoned:
                    LogLost(_logger, message.Platform, message.Conversation.Value, message.MessageId);
                    break;
            }
        }
        finally
        {
            _capacity.Release(turn.Count);
        }
    }

    private void Report(IEnumerable<InboundMessage> messages, DeliveryResult result)
    {
        foreach (var message in messages)
        {
            _handled.Report(message, result);
        }
    }

    private async Task UnmarkQuietlyAsync(InboundMessage message)
    {
        try
        {
            await _deduplication.UnmarkAsync(message.Platform, message.DeduplicationId, CancellationToken.None);
        }
        catch (Exception ex)
        {
            LogUnmarkFailed(_logger, ex, message.Platform, message.MessageId);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _closed, 1);
        if (_scheduler.Pending > 0)
        {
            LogDraining(_logger, _scheduler.Pending, _options.ShutdownTimeout);
        }
        // Past the timeout, cancelled attempts return and queued work is skipped.
        await _scheduler.DrainAsync(_options.ShutdownTimeout, async left =>
        {
            LogAbandoning(_logger, left);
            await _abort.CancelAsync();
        }, cancellationToken);
    }

    public void Dispose()
    {
        _abort.Dispose();
        _capacity.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Platform} conversation {ConversationKey}: {Count} queued messages go to the agent as one turn")]
    private static partial void LogMerged(ILogger logger, string platform, string conversationKey, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dropped redelivered {Platform} event {MessageId}")]
    private static partial void LogDuplicate(ILogger logger, string platform, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not clear the de-duplication mark of {Platform} event {MessageId}; a redelivery of it would be dropped")]
    private static partial void LogUnmarkFailed(ILogger logger, Exception exception, string platform, string messageId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: finishing {Pending} accepted message(s) within {Timeout}")]
    private static partial void LogDraining(ILogger logger, int pending, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shutdown timeout reached with {Pending} message(s) unfinished; cancelling them")]
    private static partial void LogAbandoning(ILogger logger, int pending);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Message {MessageId} of {Platform} conversation {ConversationKey} was not answered: the bridge stopped first and, without Redis, it is lost")]
    private static partial void LogLost(ILogger logger, string platform, string conversationKey, string messageId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Gave up on message {MessageId} of {Platform} conversation {ConversationKey}: {Reason}")]
    private static partial void LogGaveUp(ILogger logger, string platform, string conversationKey, string messageId, string reason);
}
