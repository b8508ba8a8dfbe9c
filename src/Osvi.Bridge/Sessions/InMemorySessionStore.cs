using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Sessions;

/// <summary>
/// Session map in this process only, for a single instance without Redis: it is lost on restart.
/// </summary>
public sealed partial class InMemorySessionStore : ISessionStore
{
    private readonly TimeProvider time;

    public InMemorySessionStore(IOptions<SessionsOptions> options, TimeProvider time, ILogger<InMemorySessionStore> logger)
    {
        this.time = time;
        _idle = options.Value.IdleTimeout;
        LogInMemory(logger);
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Redis:ConnectionString is empty: sessions and de-duplication live in this process only and will not survive a restart; run one replica only.")]
    private static partial void LogInMemory(ILogger logger);

    private readonly ConcurrentDictionary<string, Entry> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, object> _locks = new(StringComparer.Ordinal);
    private readonly TimeSpan _idle;

    public Task<string?> GetAsync(ConversationKey conversation, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_sessions.TryGetValue(conversation.Value, out var entry))
        {
            if (entry.ExpiresAt > now)
            {
                _sessions.TryUpdate(conversation.Value, entry with { ExpiresAt = now + _idle }, entry);
                return Task.FromResult<string?>(entry.SessionId);
            }
            _sessions.TryRemove(new KeyValuePair<string, Entry>(conversation.Value, entry));
        }
        return Task.FromResult<string?>(null);
    }

    public Task SetAsync(ConversationKey conversation, string sessionId, CancellationToken cancellationToken)
    {
        _sessions[conversation.Value] = new Entry(sessionId, time.GetUtcNow() + _idle);
        SweepExpired();
        return Task.CompletedTask;
    }

    public Task<string?> RemoveAsync(ConversationKey conversation, CancellationToken cancellationToken) =>
        Task.FromResult(_sessions.TryRemove(conversation.Value, out var entry) ? entry.SessionId : null);

    public async Task<SessionLockAttempt?> ReadOrTryLockAsync(ConversationKey conversation, TimeSpan ttl, CancellationToken cancellationToken) =>
        await TryLockAsync(conversation, ttl, cancellationToken);

    public async Task<SessionLockAttempt> TryLockAsync(ConversationKey conversation, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var owner = new object();
        var taken = _locks.TryAdd(conversation.Value, owner);
        var existing = await GetAsync(conversation, cancellationToken);
        if (!taken)
        {
            return new SessionLockAttempt(null, existing);
        }
        var held = new Lock(this, conversation, owner);
        if (existing is not null)
        {
            await held.DisposeAsync();
            return new SessionLockAttempt(null, existing);
        }
        return new SessionLockAttempt(held, null);
    }

    // Bounded memory for a long-running process: drop expired entries now and then.
    private void SweepExpired()
    {
        if (_sessions.Count % 1024 != 0)
        {
            return;
        }
        var now = time.GetUtcNow();
        foreach (var pair in _sessions)
        {
            if (pair.Value.ExpiresAt <= now)
            {
                _sessions.TryRemove(pair);
            }
        }
    }

    private sealed record Entry(string SessionId, DateTimeOffset ExpiresAt);

    private sealed class Lock(InMemorySessionStore store, ConversationKey conversation, object owner) : ISessionCreationLock
    {
        public async Task CommitAsync(string sessionId, CancellationToken cancellationToken)
        {
            await store.SetAsync(conversation, sessionId, cancellationToken);
            await DisposeAsync();
        }

        public ValueTask DisposeAsync()
        {
            store._locks.TryRemove(new KeyValuePair<string, object>(conversation.Value, owner));
            return ValueTask.CompletedTask;
        }
    }
}
