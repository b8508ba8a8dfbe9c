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
    OsviClient osvi,
    IOptions<OsviOptions> osviOptions,
    TimeProvider time,
    BridgeMetrics metrics,
    ILogger<SessionResolver> logger,
    IEnumerable<IDisplayNameResolver> nameResolvers)
{
    private readonly Dictionary<string, IDisplayNameResolver> _nameResolvers =
        nameResolvers.ToDictionary(r => r.Platform, StringComparer.OrdinalIgnoreCase);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    // Longer than one full OSVI call, so a lock outlives its holder's work but not a crashed holder by much.
    private readonly TimeSpan _lockTtl = osviOptions.Value.TotalTimeout + TimeSpan.FromSeconds(10);

    /// <summary>
    /// Starts reading the conversation's session (refreshing its idle expiry) ahead of
    /// <see cref="GetOrCreateAsync(ConversationKey, InboundMessage, Task{SessionLockAttempt?}?, CancellationToken)"/>;
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

    public Task<ResolvedSession> GetOrCreateAsync(ConversationKey conversation, InboundMessage sender, CancellationToken cancellationToken) =>
        GetOrCreateAsync(conversation, sender, null, cancellationToken);

    /// <summary>As above, starting from a <see cref="PrefetchAsync"/> when there is one.</summary>
    public async Task<ResolvedSession> GetOrCreateAsync(ConversationKey conversation, InboundMessage sender, Task<SessionLockAttempt?>? prefetched,
        CancellationToken cancellationToken)
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
                    return await StartAsync(conversation, sender, held, cancellationToken);
                }
            }

            // Another holder is starting the session: wait for it to be stored.
            await Task.Delay(PollInterval, time, cancellationToken);
            attempt = null;
        }
    }

    /// <summary>Starts a new session in place of one OSVI no longer knows; returns once it is stored.</summary>
    public async Task<ResolvedSession> ReplaceAsync(ConversationKey conversation, InboundMessage sender, CancellationToken cancellationToken)
    {
        await store.RemoveAsync(conversation, cancellationToken);
        var session = await GetOrCreateAsync(conversation, sender, cancellationToken);
        await session.Stored;
        return session;
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

    private async Task<ResolvedSession> StartAsync(ConversationKey conversation, InboundMessage sender, ISessionCreationLock held, CancellationToken cancellationToken)
    {
        // Only a new session needs the name: platforms that must look it up do so here, off the ack path.
        var personName = _nameResolvers.TryGetValue(sender.Platform, out var names)
            ? await names.ResolveAsync(sender, cancellationToken)
            : sender.DisplayName;
        var session = await osvi.StartSessionAsync(personName, cancellationToken);
        // Not awaited here: the caller asks the agent meanwhile and awaits Stored afterwards. The lock
        // is released by the same round trip, so no one else starts a session in between.
        var stored = held.CommitAsync(session.SessionId, cancellationToken);
        LogStarted(logger, session.SessionId);
        metrics.SessionCreated();
        return new ResolvedSession(session.SessionId, true, session.WelcomeMessage) { Stored = stored };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started OSVI session {SessionId}")]
    private static partial void LogStarted(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release a session creation lock taken for a message that was not handled; it expires by itself")]
    private static partial void LogAbandonFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not close OSVI session {SessionId}; the conversation starts afresh anyway")]
    private static partial void LogCloseFailed(ILogger logger, Exception exception, string sessionId);
}
