using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Sessions;

/// <summary>
/// Session map in this process only, for a single instance without Redis: it is lost on restart.
/// </summary>
public sealed partial class InMemorySessionStore : ISessionStore
{
    private readonly ConcurrentDictionary<string, Entry> _sessions = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly TimeSpan _idle;

    public InMemorySessionStore(IOptions<SessionsOptions> options, TimeProvider time, ILogger<InMemorySessionStore> logger)
    {
        _time = time;
        _idle = options.Value.IdleTimeout;
        LogInMemory(logger);
    }

    public Task<string?> GetAsync(ConversationKey conversation, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
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

    public Task<string> AddAsync(ConversationKey conversation, string sessionId, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var stored = _sessions.AddOrUpdate(conversation.Value,
            static (_, arg) => new Entry(arg.SessionId, arg.Expires),
            static (_, existing, arg) => existing.ExpiresAt > arg.Now ? existing : new Entry(arg.SessionId, arg.Expires),
            (SessionId: sessionId, Now: now, Expires: now + _idle));
        SweepExpired();
        return Task.FromResult(stored.SessionId);
    }

    public Task SetAsync(ConversationKey conversation, string sessionId, CancellationToken cancellationToken)
    {
        _sessions[conversation.Value] = new Entry(sessionId, _time.GetUtcNow() + _idle);
        SweepExpired();
        return Task.CompletedTask;
    }

    public Task<string?> RemoveAsync(ConversationKey conversation, CancellationToken cancellationToken) =>
        Task.FromResult(_sessions.TryRemove(conversation.Value, out var entry) ? entry.SessionId : null);

    // Bounded memory for a long-running process: drop expired entries now and then.
    private void SweepExpired()
    {
        if (_sessions.Count % 1024 != 0)
        {
            return;
        }
        var now = _time.GetUtcNow();
        foreach (var pair in _sessions)
        {
            if (pair.Value.ExpiresAt <= now)
            {
                _sessions.TryRemove(pair);
            }
        }
    }

    private sealed record Entry(string SessionId, DateTimeOffset ExpiresAt);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Redis:ConnectionString is empty: the inbox, sessions and de-duplication live in this process only and will not survive a restart; run one replica only.")]
    private static partial void LogInMemory(ILogger logger);
}
