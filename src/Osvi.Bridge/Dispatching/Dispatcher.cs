using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Dispatching;

/// <summary>
/// The in-process inbox: de-duplicates, then runs each conversation's messages strictly in arrival
/// order while different conversations run side by side on <see cref="BridgeOptions.MaxConcurrency"/>
/// slots. A conversation with work waits in one ready queue, so a slot is never idle while any
/// conversation has a message (no hash lanes that could put two busy conversations behind each other).
/// A message that finds a free slot starts on the accepting thread, without a hand-off to another.
/// At most <see cref="BridgeOptions.QueueCapacity"/> messages are held; beyond that adapters wait.
/// On stop it refuses new messages and drains the accepted ones within the shutdown timeout.
/// </summary>
public sealed partial class Dispatcher : IInbox, IHostedService, IDisposable
{
    private readonly IMessageHandler _handler;
    private readonly IDeduplicationStore _deduplication;
    private readonly BridgeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<Dispatcher> _logger;
    private readonly BridgeMetrics _metrics;
    private readonly ConcurrentDictionary<string, Conversation> _conversations = new(StringComparer.Ordinal);
    private static readonly ExecutionContext CleanContext = CaptureCleanContext();
    private readonly ConcurrentQueue<Conversation> _ready = new();
    private readonly SemaphoreSlim _capacity;
    private readonly CancellationTokenSource _abort = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _freeSlots;
    private int _pending;
    private int _inFlight;
    private int _closed;

    public Dispatcher(IMessageHandler handler, IDeduplicationStore deduplication, IOptions<BridgeOptions> options,
        TimeProvider time, BridgeMetrics metrics, ILogger<Dispatcher> logger)
    {
        _metrics = metrics;
        metrics.ObserveDispatcher(() => Math.Max(0, Pending - InFlight), () => InFlight);
        _handler = handler;
        _deduplication = deduplication;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _capacity = new SemaphoreSlim(_options.QueueCapacity, _options.QueueCapacity);
        _freeSlots = _options.MaxConcurrency;
    }

    /// <summary>Messages accepted and not yet finished (queued plus in flight).</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Messages being handled right now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public async ValueTask<InboxReceipt> AcceptAsync(InboundMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return (await AcceptManyAsync([message], cancellationToken))[0];
    }

    public async ValueTask<IReadOnlyList<InboxReceipt>> AcceptManyAsync(IReadOnlyList<InboundMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        // Counted before the closed check so that StopAsync, which closes and then waits for zero,
        // can never miss a message that got past the check.
        Interlocked.Add(ref _pending, messages.Count);
        var receipts = new InboxReceipt[messages.Count];
        var marks = Array.Empty<Task<bool>>();
        var prepared = Array.Empty<object?>();
        var settled = 0;
        try
        {
            if (Volatile.Read(ref _closed) == 1)
            {
                throw new InboxClosedException();
            }
            // Issued together, the marks share round trips (StackExchange.Redis pipelines them) and
            // are applied in call order, so a repeat within one batch is still seen as a duplicate.
            marks = messages.Select(m => _deduplication.TryMarkAsync(m.Platform, m.MessageId, cancellationToken)).ToArray();
            prepared = Prepare(messages);
            await Task.WhenAll(marks);
            for (; settled < messages.Count; settled++)
            {
                var message = messages[settled];
                if (!marks[settled].Result)
                {
                    LogDuplicate(_logger, message.Platform, message.MessageId);
                    _metrics.Duplicate(message.Platform);
                    _handler.Abandon(prepared[settled]);
                    receipts[settled] = new InboxReceipt(InboxOutcome.Duplicate, Task.CompletedTask);
                    FinishOne();
                    continue;
                }
                await _capacity.WaitAsync(cancellationToken);
                var work = new Work(message, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), prepared[settled]);
                Enqueue(work);
                _metrics.Received(message.Platform);
                receipts[settled] = new InboxReceipt(InboxOutcome.Accepted, work.Done.Task);
            }
            return receipts;
        }
        catch
        {
            // The ones already queued stay queued (and marked); the rest are given back unmarked,
            // or their redelivery would be taken for a duplicate and never answered.
            for (var i = settled; i < messages.Count; i++)
            {
                if (i < prepared.Length)
                {
                    _handler.Abandon(prepared[i]);
                }
                if (i < marks.Length && marks[i].IsCompletedSuccessfully && marks[i].Result)
                {
                    await UnmarkQuietlyAsync(messages[i]);
                }
                FinishOne();
            }
            throw;
        }
    }

    /// <summary>
    /// Lets the handler start its reads for messages whose conversation has nothing queued or running
    /// (and only the first of a conversation within the batch): for those, nothing can change the
    /// conversation's state before the message is handled, so what is read now is still current then.
    /// Only as many as there are free slots: a message that has to wait its turn reads then, rather
    /// than holding what it took (a creation lock, say) through the wait.
    /// </summary>
    private object?[] Prepare(IReadOnlyList<InboundMessage> messages)
    {
        var prepared = new object?[messages.Count];
        var room = Volatile.Read(ref _freeSlots) - _ready.Count;
        HashSet<string>? seen = messages.Count > 1 ? new(StringComparer.Ordinal) : null;
        for (var i = 0; i < messages.Count && room > 0; i++)
        {
            var key = messages[i].Conversation.Value;
            if (!_conversations.ContainsKey(key) && (seen is null || seen.Add(key)))
            {
                prepared[i] = _handler.Prepare(messages[i]);
                room--;
            }
        }
        return prepared;
    }

    private async Task UnmarkQuietlyAsync(InboundMessage message)
    {
        try
        {
            await _deduplication.UnmarkAsync(message.Platform, message.MessageId, CancellationToken.None);
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
        if (Volatile.Read(ref _pending) == 0)
        {
            _drained.TrySetResult();
        }
        else
        {
            LogDraining(_logger, Pending, _options.ShutdownTimeout);
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(_options.ShutdownTimeout);
        try
        {
            await _drained.Task.WaitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            LogAbandoning(_logger, Pending);
            await _abort.CancelAsync();
            // Now it ends promptly: cancelled handlers return and queued work is skipped.
            await _drained.Task.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public void Dispose()
    {
        _abort.Dispose();
        _capacity.Dispose();
    }

    private void Enqueue(Work work)
    {
        var key = work.Message.Conversation.Value;
        while (true)
        {
            var conversation = _conversations.GetOrAdd(key, static k => new Conversation(k));
            lock (conversation)
            {
                if (conversation.Retired)
                {
                    continue;
                }
                conversation.Items.Enqueue(work);
                if (conversation.Scheduled)
                {
                    return;
                }
                conversation.Scheduled = true;
            }
            _ready.Enqueue(conversation);
            StartReadyTurns();
            return;
        }
    }

    /// <summary>
    /// Gives free slots to waiting conversations. Called after every enqueue and every slot release,
    /// and both sides are atomic, so a conversation can never wait in the queue beside a free slot.
    /// </summary>
    private void StartReadyTurns()
    {
        while (!_ready.IsEmpty && TryTakeSlot())
        {
            if (_ready.TryDequeue(out var conversation))
            {
                // Runs here until its first await: a message that found a free slot is not handed to
                // another thread first (a thread wake that costs latency on a busy machine). It runs
                // in a clean context, or it would carry the caller's log scopes and trace parent
                // into every conversation this slot handles after it.
                ExecutionContext.Run(CleanContext, static state =>
                {
                    var (dispatcher, first) = ((Dispatcher, Conversation))state!;
                    _ = dispatcher.RunTurnsAsync(first);
                }, (this, conversation));
            }
            else
            {
                Interlocked.Increment(ref _freeSlots);
            }
        }
    }

    private static ExecutionContext CaptureCleanContext()
    {
        ExecutionContext? clean = null;
        // UnsafeStart flows nothing, so the new thread's context has no async-locals at all.
        var thread = new Thread(() => clean = ExecutionContext.Capture());
        thread.UnsafeStart();
        thread.Join();
        return clean ?? throw new InvalidOperationException("No execution context could be captured.");
    }

    private bool TryTakeSlot()
    {
        var free = Volatile.Read(ref _freeSlots);
        while (free > 0)
        {
            var seen = Interlocked.CompareExchange(ref _freeSlots, free - 1, free);
            if (seen == free)
            {
                return true;
            }
            free = seen;
        }
        return false;
    }

    /// <summary>
    /// Holds one slot: handles one message of the conversation, sends the conversation to the back of
    /// the line if it has more, and goes on with the next waiting conversation until there is none.
    /// </summary>
    private async Task RunTurnsAsync(Conversation conversation)
    {
        while (true)
        {
            var turn = RunTurnAsync(conversation);
            if (!turn.IsCompleted)
            {
                await turn;
            }
            else
            {
                // A handler that finished without waiting must not keep the accepting thread looping.
                await Task.Yield();
            }
            if (!_ready.TryDequeue(out var next))
            {
                Interlocked.Increment(ref _freeSlots);
                // Something may have been queued after our look and before the release.
                StartReadyTurns();
                return;
            }
            conversation = next;
        }
    }

    private async Task RunTurnAsync(Conversation conversation)
    {
        Work work;
        lock (conversation)
        {
            work = conversation.Items.Dequeue();
        }

        Interlocked.Increment(ref _inFlight);
        try
        {
            if (_abort.IsCancellationRequested)
            {
                _handler.Abandon(work.Prepared);
                LogSkipped(_logger, work.Message.Platform, work.Message.Conversation.Value, work.Message.MessageId);
            }
            else
            {
                await _handler.HandleAsync(work.Message, work.Prepared, _abort.Token);
            }
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            LogSkipped(_logger, work.Message.Platform, work.Message.Conversation.Value, work.Message.MessageId);
        }
        catch (Exception ex)
        {
            // One bad conversation must never take its slot down.
            LogHandlerFailed(_logger, ex, work.Message.Platform, work.Message.Conversation.Value, work.Message.MessageId);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
            work.Done.TrySetResult();
            _capacity.Release();
            lock (conversation)
            {
                if (conversation.Items.Count > 0)
                {
                    // Back of the line: one message per turn keeps busy conversations from starving others.
                    _ready.Enqueue(conversation);
                }
                else
                {
                    conversation.Scheduled = false;
                    conversation.Retired = true;
                    _conversations.TryRemove(new KeyValuePair<string, Conversation>(conversation.Key, conversation));
                }
            }
            FinishOne();
        }
    }

    private void FinishOne()
    {
        if (Interlocked.Decrement(ref _pending) == 0 && Volatile.Read(ref _closed) == 1)
        {
            _drained.TrySetResult();
        }
    }

    private sealed record Work(InboundMessage Message, TaskCompletionSource Done, object? Prepared);

    private sealed class Conversation(string key)
    {
        public string Key { get; } = key;
        public Queue<Work> Items { get; } = new();
        public bool Scheduled { get; set; }
        public bool Retired { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dropped redelivered {Platform} event {MessageId}")]
    private static partial void LogDuplicate(ILogger logger, string platform, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not clear the de-duplication mark of {Platform} event {MessageId}; a redelivery of it would be dropped")]
    private static partial void LogUnmarkFailed(ILogger logger, Exception exception, string platform, string messageId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: finishing {Pending} accepted message(s) within {Timeout}")]
    private static partial void LogDraining(ILogger logger, int pending, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shutdown timeout reached with {Pending} message(s) unfinished; cancelling them")]
    private static partial void LogAbandoning(ILogger logger, int pending);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} of {Platform} conversation {ConversationKey} was not answered: the bridge stopped first")]
    private static partial void LogSkipped(ILogger logger, string platform, string conversationKey, string messageId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling message {MessageId} of {Platform} conversation {ConversationKey} failed")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string platform, string conversationKey, string messageId);
}
