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
    /// Tries to take the conversation's creation lock for <paramref name="ttl"/>; null when another
    /// holder has it. Disposing the handle releases it (only if still ours).
    /// </summary>
    Task<IAsyncDisposable?> TryLockAsync(ConversationKey conversation, TimeSpan ttl, CancellationToken cancellationToken);
}
