using Osvi.Bridge.Messaging;
using Osvi.Bridge.Osvi;
using Osvi.Bridge.Sessions;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Relay;

/// <summary>A conversation's OSVI session; <see cref="WelcomeMessage"/> is set only when it was just started.</summary>
public sealed record ResolvedSession(string SessionId, bool Created, string? WelcomeMessage);

/// <summary>
/// Finds a conversation's OSVI session or starts one. The inbox runs a conversation's messages one at a
/// time across all replicas, so no lock is needed; should two starts ever race (a replica that outlived
/// its lease), the store keeps the first and the other session is closed again.
/// </summary>
public sealed partial class SessionResolver(
    ISessionStore store,
    OsviClient osvi,
    BridgeMetrics metrics,
    ILogger<SessionResolver> logger)
{
    public async Task<ResolvedSession> GetOrCreateAsync(ConversationKey conversation, string? personName, CancellationToken cancellationToken)
    {
        var existing = await store.GetAsync(conversation, cancellationToken);
        if (existing is not null)
        {
            return new ResolvedSession(existing, false, null);
        }
        var started = await osvi.StartSessionAsync(personName, cancellationToken);
        var stored = await store.AddAsync(conversation, started.SessionId, cancellationToken);
        if (stored != started.SessionId)
        {
            LogLostRace(logger, started.SessionId, stored);
            await CloseQuietlyAsync(started.SessionId, cancellationToken);
            return new ResolvedSession(stored, false, null);
        }
        LogStarted(logger, started.SessionId);
        metrics.SessionCreated();
        return new ResolvedSession(started.SessionId, true, started.WelcomeMessage);
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
        await CloseQuietlyAsync(sessionId, cancellationToken);
        return true;
    }

    private async Task CloseQuietlyAsync(string sessionId, CancellationToken cancellationToken)
    {
        try
        {
            await osvi.CloseSessionAsync(sessionId, cancellationToken);
        }
        catch (OsviException ex)
        {
            // The mapping is gone either way; an unclosed session only lingers on OSVI's side.
            LogCloseFailed(logger, ex, sessionId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started OSVI session {SessionId}")]
    private static partial void LogStarted(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "OSVI session {SessionId} was started while the conversation got {StoredSessionId} elsewhere; closing ours")]
    private static partial void LogLostRace(ILogger logger, string sessionId, string storedSessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not close OSVI session {SessionId}; the conversation starts afresh anyway")]
    private static partial void LogCloseFailed(ILogger logger, Exception exception, string sessionId);
}
