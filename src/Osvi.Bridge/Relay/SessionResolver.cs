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
/// its lease), the store keeps the first and the other session is closed again. A session belongs to the
/// agent of the message's bot or app: it is stored under <see cref="AgentDirectory.SessionKey"/>.
/// </summary>
public sealed partial class SessionResolver(
    ISessionStore store,
    AgentDirectory agents,
    BridgeMetrics metrics,
    ILogger<SessionResolver> logger,
    IEnumerable<IDisplayNameResolver> nameResolvers)
{
    private readonly Dictionary<(string Platform, string Instance), IDisplayNameResolver> _nameResolvers =
        nameResolvers.ToDictionary(r => (r.Platform.ToLowerInvariant(), r.Instance));

    /// <summary>The conversation's session, or a new one named after <paramref name="sender"/> (its name looked up only then).</summary>
    public Task<ResolvedSession> GetOrCreateAsync(ConversationKey conversation, InboundMessage sender, CancellationToken cancellationToken) =>
        GetOrCreateAsync(conversation, sender, continueActive: true, cancellationToken);

    // continueActive: whether a conversation without a stored session first asks OSVI for one it still
    // holds open (v1, after the mapping was lost); a replacement must not, it wants a new session.
    private async Task<ResolvedSession> GetOrCreateAsync(ConversationKey conversation, InboundMessage sender, bool continueActive,
        CancellationToken cancellationToken)
    {
        var agent = agents.For(sender);
        var key = agents.SessionKey(conversation, sender.AgentUuid);
        var existing = await store.GetAsync(key, cancellationToken);
        if (existing is not null)
        {
            return new ResolvedSession(existing, false, null);
        }
        if (continueActive && await agent.FindActiveSessionAsync(conversation, cancellationToken) is { } active)
        {
            var kept = await store.AddAsync(key, active.SessionId, cancellationToken);
            LogContinued(logger, kept);
            return new ResolvedSession(kept, false, null);
        }
        // Only a new session needs the sender's name: looked up here, never on the path that acknowledges the platform.
        var personName = _nameResolvers.TryGetValue((sender.Platform.ToLowerInvariant(), sender.Instance), out var names)
            ? await names.ResolveAsync(sender, cancellationToken)
            : sender.DisplayName;
        var started = await agent.StartSessionAsync(conversation, personName, cancellationToken);
        var stored = await store.AddAsync(key, started.SessionId, cancellationToken);
        if (stored != started.SessionId)
        {
            LogLostRace(logger, started.SessionId, stored);
            await CloseQuietlyAsync(agent, conversation, started.SessionId, cancellationToken);
            return new ResolvedSession(stored, false, null);
        }
        LogStarted(logger, started.SessionId);
        metrics.SessionCreated();
        return new ResolvedSession(started.SessionId, true, started.WelcomeMessage);
    }

    /// <summary>Starts a new session in place of one OSVI no longer knows.</summary>
    public async Task<ResolvedSession> ReplaceAsync(ConversationKey conversation, InboundMessage sender, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sender);
        await store.RemoveAsync(agents.SessionKey(conversation, sender.AgentUuid), cancellationToken);
        return await GetOrCreateAsync(conversation, sender, continueActive: false, cancellationToken);
    }

    /// <summary>
    /// Stores the session OSVI answered in when it is not the one the message named (v1 may move a
    /// customer to another session), so the next message goes there.
    /// </summary>
    public Task FollowAsync(ConversationKey conversation, string sessionId, CancellationToken cancellationToken) =>
        FollowAsync(conversation, null, sessionId, cancellationToken);

    /// <summary>As <see cref="FollowAsync(ConversationKey, string, CancellationToken)"/>, in the session of the message's agent.</summary>
    public Task FollowAsync(InboundMessage message, string sessionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return FollowAsync(message.Conversation, message.AgentUuid, sessionId, cancellationToken);
    }

    private async Task FollowAsync(ConversationKey conversation, string? agentUuid, string sessionId, CancellationToken cancellationToken)
    {
        await store.SetAsync(agents.SessionKey(conversation, agentUuid), sessionId, cancellationToken);
        LogFollowed(logger, sessionId);
    }

    /// <summary>Forgets the conversation's session (of the default agent) and closes it at OSVI; true when there was one.</summary>
    public Task<bool> ResetAsync(ConversationKey conversation, CancellationToken cancellationToken) =>
        ResetAsync(conversation, null, cancellationToken);

    /// <summary>Forgets the conversation's session with the message's agent and closes it at OSVI; true when there was one.</summary>
    public Task<bool> ResetAsync(InboundMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return ResetAsync(message.Conversation, message.AgentUuid, cancellationToken);
    }

    private async Task<bool> ResetAsync(ConversationKey conversation, string? agentUuid, CancellationToken cancellationToken)
    {
        var agent = agents.For(agentUuid);
        var sessionId = await store.RemoveAsync(agents.SessionKey(conversation, agentUuid), cancellationToken);
        try
        {
            // Without a mapping, a session OSVI still holds open (v1) would be continued by the next message.
            sessionId ??= (await agent.FindActiveSessionAsync(conversation, cancellationToken))?.SessionId;
        }
        catch (OsviException ex)
        {
            LogCloseFailed(logger, ex, "-");
        }
        if (sessionId is null)
        {
            return false;
        }
        await CloseQuietlyAsync(agent, conversation, sessionId, cancellationToken);
        return true;
    }

    private async Task CloseQuietlyAsync(IAgentConversation agent, ConversationKey conversation, string sessionId, CancellationToken cancellationToken)
    {
        try
        {
            await agent.CloseSessionAsync(sessionId, conversation, cancellationToken);
        }
        catch (OsviException ex)
        {
            // The mapping is gone either way; an unclosed session only lingers on OSVI's side.
            LogCloseFailed(logger, ex, sessionId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started OSVI session {SessionId}")]
    private static partial void LogStarted(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "OSVI answered in session {SessionId}; the conversation continues there")]
    private static partial void LogFollowed(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Continuing OSVI session {SessionId}, which OSVI still holds open for this conversation")]
    private static partial void LogContinued(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "OSVI session {SessionId} was started while the conversation got {StoredSessionId} elsewhere; closing ours")]
    private static partial void LogLostRace(ILogger logger, string sessionId, string storedSessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not close OSVI session {SessionId}; the conversation starts afresh anyway")]
    private static partial void LogCloseFailed(ILogger logger, Exception exception, string sessionId);
}
