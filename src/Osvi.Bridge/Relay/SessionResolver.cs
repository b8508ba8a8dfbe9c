using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Osvi;
using Osvi.Bridge.Sessions;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Relay;

/// <summary>A conversation's OSVI session; <see cref="WelcomeMessage"/> is set only when it was just started.</summary>
public sealed record ResolvedSession(string SessionId, bool Created, string? WelcomeMessage);

/// <summary>
/// Finds a conversation's OSVI session or starts exactly one: the starter holds the conversation's
/// lock in the session store, so two messages, or two replicas, never start two sessions.
/// </summary>
public sealed partial class SessionResolver(
    ISessionStore store,
    OsviClient osvi,
    IOptions<OsviOptions> osviOptions,
    TimeProvider time,
    BridgeMetrics metrics,
    ILogger<SessionResolver> logger)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    // Longer than one full OSVI call, so a lock outlives its holder's work but not a crashed holder by much.
    private readonly TimeSpan _lockTtl = osviOptions.Value.TotalTimeout + TimeSpan.FromSeconds(10);

    public async Task<ResolvedSession> GetOrCreateAsync(ConversationKey conversation, string? personName, CancellationToken cancellationToken)
    {
        while (true)
        {
            var existing = await store.GetAsync(conversation, cancellationToken);
            if (existing is not null)
            {
                return new ResolvedSession(existing, false, null);
            }

            await using (var held = await store.TryLockAsync(conversation, _lockTtl, cancellationToken))
            {
                if (held is not null)
                {
                    // Someone may have finished between our read and our lock.
                    existing = await store.GetAsync(conversation, cancellationToken);
                    if (existing is not null)
                    {
                        return new ResolvedSession(existing, false, null);
                    }
                    return await StartAsync(conversation, personName, cancellationToken);
                }
            }

            await Task.Delay(PollInterval, time, cancellationToken);
        }
    }

    /// <summary>Starts a new session in place of one OSVI no longer knows.</summary>
    public async Task<ResolvedSession> ReplaceAsync(ConversationKey conversation, string? personName, CancellationToken cancellationToken)
    {
        await store.RemoveAsync(conversation, cancellationToken);
        return await GetOrCreateAsync(conversation, personName, cancellationToken);
    }

    /// <summary>Forgets the conversation's session and closes it at OSVI; true when there was one.</summary>
    public async Task<bool> ResetAsync(ConversationKey conversation, CancellationToken cancellationToken)
    {
        var sessionId = await store.RemoveAsync(conversation, cancellationToken);
        if (sessionId is null)
        {
            return false;
        }
        try
        {
            await osvi.CloseSessionAsync(sessionId, cancellationToken);
        }
        catch (OsviException ex)
        {
            // The mapping is gone either way; an unclosed session only lingers on OSVI's side.
            LogCloseFailed(logger, ex, sessionId);
        }
        return true;
    }

    private async Task<ResolvedSession> StartAsync(ConversationKey conversation, string? personName, CancellationToken cancellationToken)
    {
        var session = await osvi.StartSessionAsync(personName, cancellationToken);
        await store.SetAsync(conversation, session.SessionId, cancellationToken);
        LogStarted(logger, session.SessionId);
        metrics.SessionCreated();
        return new ResolvedSession(session.SessionId, true, session.WelcomeMessage);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started OSVI session {SessionId}")]
    private static partial void LogStarted(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not close OSVI session {SessionId}; the conversation starts afresh anyway")]
    private static partial void LogCloseFailed(ILogger logger, Exception exception, string sessionId);
}
