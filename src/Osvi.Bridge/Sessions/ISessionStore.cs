using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Sessions;

/// <summary>
/// The map from a conversation to its OSVI session id, with an idle expiry refreshed on use and a
/// short per-conversation lock so that only one process ever starts a conversation's session.
/// </summary>
public interface ISessionStore
{
    /// <summary>Returns the session id, refreshing its idle expiry, or null when there is none.</summary>
    Task<string?> GetAsync(ConversationKey conversation, CancellationToken cancellationToken);

    Task SetAsync(ConversationKey conversation, string sessionId, CancellationToken cancellationToken);

    /// <summary>Forgets the mapping; returns the session id that was stored, if any.</summary>
    Task<string?> RemoveAsync(ConversationKey conversation, CancellationToken cancellationToken);

    /// <summary>
    /// Tries to take the conversation's creation lock for <paramref name="ttl"/> and, in the same step,
    /// reads the session another holder may have stored meanwhile (refreshing its idle expiry).
    /// </summary>
    Task<SessionLockAttempt> TryLockAsync(ConversationKey conversation, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>
    /// Reads the session (refreshing its idle expiry) in one round trip and, where the store can do so
    /// in that same step, takes the creation lock when there is none, as <see cref="TryLockAsync"/>
    /// would. Returns null when it found no session and did not try the lock.
    /// </summary>
    Task<SessionLockAttempt?> ReadOrTryLockAsync(ConversationKey conversation, TimeSpan ttl, CancellationToken cancellationToken);
}

/// <summary>
/// What <see cref="ISessionStore.TryLockAsync"/> found: <see cref="Lock"/> when it is ours (dispose it),
/// <see cref="SessionId"/> when the conversation has a session by now.
/// </summary>
public sealed record SessionLockAttempt(ISessionCreationLock? Lock, string? SessionId);

/// <summary>A held creation lock. Disposing releases it, only if it is still ours.</summary>
public interface ISessionCreationLock : IAsyncDisposable
{
    /// <summary>Stores the new session and releases the lock together; disposing afterwards does nothing.</summary>
    Task CommitAsync(string sessionId, CancellationToken cancellationToken);
}
