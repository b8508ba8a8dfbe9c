using System.Collections.Concurrent;

namespace Osvi.Bridge.Dispatching;

/// <summary>
/// Runs each conversation's work strictly one at a time in the order it was scheduled, while different
/// conversations run side by side on a fixed number of slots. A conversation with work waits in one
/// ready queue, so a slot is never idle while any conversation has work (no hash lanes that could put
/// two busy conversations behind each other). Work that finds a free slot starts on the scheduling
/// thread, without a hand-off to another. Both inboxes feed it; it knows nothing of where work comes from.
/// </summary>
public sealed class ConversationScheduler
{
    private static readonly ExecutionContext CleanContext = CaptureCleanContext();
    private readonly ConcurrentDictionary<string, Conversation> _conversations = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Conversation> _ready = new();
    private int _freeSlots;
    private int _pending;
    private int _running;
    private TaskCompletionSource _idle = NewIdleSignal(completed: true);
    private readonly Lock _idleGate = new();

    public ConversationScheduler(int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        _freeSlots = slots;
    }

    /// <summary>Work scheduled and not yet finished (waiting plus running).</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Work running right now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Completes when nothing is scheduled or running.</summary>
    public Task WhenIdle
    {
        get
        {
            lock (_idleGate)
            {
                return _idle.Task;
            }
        }
    }

    /// <summary>
    /// Waits at most <paramref name="timeout"/> for all work to finish. When that is not enough it calls
    /// <paramref name="abandon"/> with the number of pieces left (which must make running work end and
    /// queued work return at once: cancel the token it runs with) and waits a few seconds more for that.
    /// </summary>
    public async Task DrainAsync(TimeSpan timeout, Func<int, Task> abandon, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(abandon);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await WhenIdle.WaitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            await abandon(Pending);
            await WhenIdle.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>
    /// Queues <paramref name="work"/> behind the conversation's earlier work. The work must not throw:
    /// it reports its own failures (an exception is swallowed here so that a slot never dies).
    /// </summary>
    public void Schedule(string conversationKey, Func<Task> work)
    {
        ArgumentNullException.ThrowIfNull(conversationKey);
        ArgumentNullException.ThrowIfNull(work);
        if (Interlocked.Increment(ref _pending) == 1)
        {
            lock (_idleGate)
            {
                if (_idle.Task.IsCompleted)
                {
                    _idle = NewIdleSignal(completed: false);
                }
            }
        }
        while (true)
        {
            var conversation = _conversations.GetOrAdd(conversationKey, static k => new Conversation(k));
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
                // Runs here until its first await: work that found a free slot is not handed to another
                // thread first (a thread wake that costs latency on a busy machine; bench/README.md). It
                // runs in a clean context, or it would carry the caller's log scopes and trace parent
                // into every conversation this slot handles after it.
                ExecutionContext.Run(CleanContext, static state =>
                {
                    var (scheduler, first) = ((ConversationScheduler, Conversation))state!;
                    _ = scheduler.RunTurnsAsync(first);
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

    private static TaskCompletionSource NewIdleSignal(bool completed)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed)
        {
            signal.SetResult();
        }
        return signal;
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
    /// Holds one slot: runs one piece of the conversation's work, sends the conversation to the back of
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
                // Work that finished without waiting must not keep the scheduling thread looping.
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
        Func<Task> work;
        lock (conversation)
        {
            work = conversation.Items.Dequeue();
        }

        Interlocked.Increment(ref _running);
        try
        {
            await work();
        }
#pragma warning disable CA1031 // The work reports its own failures; a slot must survive anything else.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            lock (conversation)
            {
                if (conversation.Items.Count > 0)
                {
                    // Back of the line: one piece per turn keeps busy conversations from starving others.
                    _ready.Enqueue(conversation);
                }
                else
                {
                    conversation.Scheduled = false;
                    conversation.Retired = true;
                    _conversations.TryRemove(new KeyValuePair<string, Conversation>(conversation.Key, conversation));
                }
            }
            if (Interlocked.Decrement(ref _pending) == 0)
            {
                lock (_idleGate)
                {
                    if (Volatile.Read(ref _pending) == 0)
                    {
                        _idle.TrySetResult();
                    }
                }
            }
        }
    }

    private sealed class Conversation(string key)
    {
        public string Key { get; } = key;
        public Queue<Func<Task>> Items { get; } = new();
        public bool Scheduled { get; set; }
        public bool Retired { get; set; }
    }
}
