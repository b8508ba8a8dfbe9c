using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Sessions;

/// <summary>
/// The map from a conversation to its OSVI session id, with an idle expiry refreshed on use. The inbox
/// already runs one conversation's messages one at a time across replicas; <see cref="AddAsync"/> keeps
/// the first of two sessions anyway, so even a replica that outlived its lease cannot split a conversation.
/// </summary>
public interface ISessionStore
{
    /// <summary>Returns the session id, refreshing its idle expiry, or null when there is none.</summary>
    Task<string?> GetAsync(ConversationKey conversation, CancellationToken cancellationToken);

    /// <summary>
    /// Stores <paramref name="sessionId"/> unless the conversation has a session already; returns the
    /// session the conversation has now (ours, or the one that was there first).
    /// </summary>
    Task<string> AddAsync(ConversationKey conversation, string sessionId, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="sessionId"/> in place of whatever the conversation had (OSVI moved it on).</summary>
    Task SetAsync(ConversationKey conversation, string sessionId, CancellationToken cancellationToken);

    /// <summary>Forgets the mapping; returns the session id that was stored, if any.</summary>
    Task<string?> RemoveAsync(ConversationKey conversation, CancellationToken cancellationToken);
}
