using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Osvi;
using Osvi.Bridge.Sessions;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Relay;

/// <summary>
/// A conversation's OSVI session; <see cref="WelcomeMessage"/> is set only when it was just started.
/// A just-started session may still be on its way into the store: <see cref="Stored"/> completes when
/// it is there, so the first message need not wait a round trip before reaching the agent.
/// </summary>
public sealed record ResolvedSession(string SessionId, bool Created, string? WelcomeMessage)
{
    public Task Stored { get; init; } = Task.CompletedTask;
}

/// <summary>
/// Finds a conversation's OSVI session or starts exactly one: the starter holds the conversation's
/// lock in the session store, so two messages, or two replicas, never start two sessions.
/// </summary>
public sealed partial class SessionResolver(
    ISessionStore store,
    IAgentConversation agent,
    IOptions<OsviOptions> osviOptions,
    TimeProvider time,
    BridgeMetrics metrics,
    ILogger<SessionResolver> logger)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    // Longer than one full OSVI call, so a lock outlives its holder's work but not a crashed holder by much.
    private readonly TimeSpan _lockTtl = osviOptions.Value.TotalTimeout + TimeSpan.FromSeconds(10);

    /// <summary>
    /// Starts reading the conversation's session (refreshing its idle expiry) ahead of
    /// <see cref="GetOrCreateAsync(ConversationKey, string?, Task{SessionLockAttempt?}?, CancellationToken)"/>;
    /// where the store can, a conversation without one takes its creation lock in the same round trip.
    /// Whatever it returns goes to <c>GetOrCreateAsync</c> or, if the message is not handled after all,
    /// to <see cref="AbandonAsync"/>, so that a lock taken here is never left to expire.
    /// </summary>
    public Task<SessionLockAttempt?> PrefetchAsync(ConversationKey conversation) =>
        store.ReadOrTryLockAsync(conversation, _lockTtl, CancellationToken.None);

    /// <summary>Releases what a <see cref="PrefetchAsync"/> took, for a message that will not be handled.</summary>
    public async Task AbandonAsync(Task<SessionLockAttempt?> prefetched)
    {
        ArgumentNullException.ThrowIfNull(prefetched);
        try
        {
            if (await prefetched is { Lock: { } held })
            {
                await held.DisposeAsync();
            }
        }
        catch (Exception ex)
        {
            // The lock then expires by itself, after its TTL.
            LogAbandonFailed(logger, ex);
        }
    }

    public Task<ResolvedSession> GetOrCreateAsync(ConversationKey conversation, string? personName, CancellationToken cancellationToken) =>
        GetOrCreateAsync(conversation, personName, null, cancellationToken);

    /// <summary>As above, starting from a <see cref="PrefetchAsync"/> when there is one.</summary>
    public Task<ResolvedSession> GetOrCreateAsync(ConversationKey conversation, string? personName, Task<SessionLockAttempt?>? prefetched,
        CancellationToken cancellationToken) =>
        GetOrCreateAsync(conversation, personName, prefetched, continueActive: true, cancellationToken);

    // continueActive: whether a conversation without a stored session first asks OSVI for one it still
    // holds open (v1, after the mapping was lost); not when replacing a session OSVI just said is gone.
    private async Task<ResolvedSession> GetOrCreateAsync(ConversationKey conversation, string? personName, Task<SessionLockAttempt?>? prefetched,
        bool continueActive, CancellationToken cancellationToken)
    {
        var attempt = await (prefetched ?? store.ReadOrTryLockAsync(conversation, _lockTtl, cancellationToken));
        while (true)
        {
            // Null: the store only read, and found nothing.
            attempt ??= await store.TryLockAsync(conversation, _lockTtl, cancellationToken);
            if (attempt.SessionId is not null)
            {
                return new ResolvedSession(attempt.SessionId, false, null);
            }
            if (attempt.Lock is { } held)
            {
                await using (held)
                {
                    return await StartAsync(conversation, personName, held, continueActive, cancellationToken);
                }
            }

            // Another holder is starting the session: wait for it to be stored.
            await Task.Delay(PollInterval, time, cancellationToken);
            attempt = null;
        }
    }

    /// <summary>Starts a new session in place of one OSVI no longer knows; returns once it is stored.</summary>
    public async Task<ResolvedSession> ReplaceAsync(ConversationKey conversation, string? personName, CancellationToken cancellationToken)
    {
        await store.RemoveAsync(conversation, cancellationToken);
        var session = await GetOrCreateAsync(conversation, personName, null, continueActive: false, cancellationToken);
        await session.Stored;
        return session;
    }

    /// <summary>
    /// Stores the session OSVI answered in when it is not the one the message named (v1 may move a
    /// customer to another session), so the next message goes there.
    /// </summary>
    public async Task FollowAsync(ConversationKey conversation, string sessionId, CancellationToken cancellationToken)
    {
        try
        {
            await store.SetAsync(conversation, sessionId, cancellationToken);
            LogFollowed(logger, sessionId);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The answer went out; the next message names the old session, and OSVI moves it on again.
            LogFollowFailed(logger, ex, sessionId);
        }
    }

    /// <summary>Forgets the conversation's session and closes it at OSVI; true when there was one.</summary>
    public async Task<bool> ResetAsync(ConversationKey conversation, CancellationToken cancellationToken)
    {
        var sessionId = await store.RemoveAsync(conversation, cancellationToken);
        try
        {
            // Without a mapping, a session OSVI still holds open (v1) would be continued by the next message.
            sessionId ??= (await agent.FindActiveSessionAsync(conversation, cancellationToken))?.SessionId;
            if (sessionId is null)
            {
                return false;
            }
            await agent.CloseSessionAsync(sessionId, conversation, cancellationToken);
        }
        catch (OsviException ex)
        {
            // The mapping is gone either way; an unclosed session only lingers on OSVI's side.
            LogCloseFailed(logger, ex, sessionId ?? "-");
        }
        return true;
    }

    private async Task<ResolvedSession> StartAsync(ConversationKey conversation, string? personName, ISessionCreationLock held, bool continueActive,
        CancellationToken cancellationToken)
    {
        if (continueActive && await agent.FindActiveSessionAsync(conversation, cancellationToken) is { } active)
        {
            var kept = held.CommitAsync(active.SessionId, cancellationToken);
            LogContinued(logger, active.SessionId);
            return new ResolvedSession(active.SessionId, false, null) { Stored = kept };
        }
        var session = await agent.StartSessionAsync(conversation, personName, cancellationToken);
        // Not awaited here: the caller asks the agent meanwhile and awaits Stored afterwards. The lock
        // is released by the same round trip, so no one else starts a session in between.
        var stored = held.CommitAsync(session.SessionId, cancellationToken);
        LogStarted(logger, session.SessionId);
        metrics.SessionCreated();
        return new ResolvedSession(session.SessionId, true, session.WelcomeMessage) { Stored = stored };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started OSVI session {SessionId}")]
    private static partial void LogStarted(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "OSVI answered in session {SessionId}; the conversation continues there")]
    private static partial void LogFollowed(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "OSVI answered in session {SessionId}, which could not be saved for the conversation")]
    private static partial void LogFollowFailed(ILogger logger, Exception exception, string sessionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Continuing OSVI session {SessionId}, which OSVI still holds open for this conversation")]
    private static partial void LogContinued(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release a session creation lock taken for a message that was not handled; it expires by itself")]
    private static partial void LogAbandonFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not close OSVI session {SessionId}; the conversation starts afresh anyway")]
    private static partial void LogCloseFailed(ILogger logger, Exception exception, string sessionId);
}
