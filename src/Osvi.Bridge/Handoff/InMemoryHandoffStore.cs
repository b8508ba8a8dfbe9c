using System.Collections.Concurrent;

namespace Osvi.Bridge.Handoff;

/// <summary>The handoff map in this process, for a single instance without Redis: lost on restart, as its sessions are.</summary>
public sealed class InMemoryHandoffStore : IHandoffStore
{
    private readonly ConcurrentDictionary<string, Entry> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Channel, string Ts), string> _threads = new();
    private readonly ConcurrentDictionary<string, Queue<RelayedTurn>> _turns = new(StringComparer.Ordinal);

    public Task<HandoffThread?> FindBySessionAsync(string sessionId, CancellationToken cancellationToken) =>
        Task.FromResult(_sessions.TryGetValue(sessionId, out var entry) ? entry.Thread : null);

    public Task<HandoffThread?> FindByThreadAsync(string channel, string threadTs, CancellationToken cancellationToken) =>
        _threads.TryGetValue((channel, threadTs), out var sessionId) ? FindBySessionAsync(sessionId, cancellationToken) : Task.FromResult<HandoffThread?>(null);

    public Task<bool> TryAddAsync(HandoffThread thread, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(thread);
        if (!_sessions.TryAdd(thread.SessionId, new Entry(thread with { OperatorActive = false, Closed = false }, Answered: false)))
        {
            return Task.FromResult(false);
        }
        _threads[(thread.Channel, thread.ThreadTs)] = thread.SessionId;
        return Task.FromResult(true);
    }

    public Task SetOperatorActiveAsync(string sessionId, bool active, CancellationToken cancellationToken)
    {
        Update(sessionId, e => e with { Thread = e.Thread with { OperatorActive = active } });
        return Task.CompletedTask;
    }

    public Task<bool> MarkAnsweredAsync(string sessionId, CancellationToken cancellationToken)
    {
        var first = false;
        Update(sessionId, e =>
        {
            first = !e.Answered;
            return e with { Answered = true };
        });
        return Task.FromResult(first);
    }

    public Task CloseAsync(string sessionId, CancellationToken cancellationToken)
    {
        Update(sessionId, e => e with { Thread = e.Thread with { Closed = true, OperatorActive = false } });
        return Task.CompletedTask;
    }

    public void AppendTurn(string sessionId, RelayedTurn turn)
    {
        var turns = _turns.GetOrAdd(sessionId, _ => new Queue<RelayedTurn>());
        lock (turns)
        {
            turns.Enqueue(turn);
            while (turns.Count > IHandoffStore.RecentTurns)
            {
                turns.Dequeue();
            }
        }
    }

    public Task<IReadOnlyList<RelayedTurn>> RecentTurnsAsync(string sessionId, CancellationToken cancellationToken)
    {
        if (!_turns.TryGetValue(sessionId, out var turns))
        {
            return Task.FromResult<IReadOnlyList<RelayedTurn>>([]);
        }
        lock (turns)
        {
            return Task.FromResult<IReadOnlyList<RelayedTurn>>([.. turns]);
        }
    }

    public void Touch(HandoffThread thread)
    {
        // Kept for the process's life, like its sessions' map.
    }

    private void Update(string sessionId, Func<Entry, Entry> change)
    {
        while (_sessions.TryGetValue(sessionId, out var entry))
        {
            if (_sessions.TryUpdate(sessionId, change(entry), entry))
            {
                return;
            }
        }
    }

    private sealed record Entry(HandoffThread Thread, bool Answered);
}
