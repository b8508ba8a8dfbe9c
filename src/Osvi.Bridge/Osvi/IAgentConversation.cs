using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Osvi;

/// <summary>
/// The relay's port to the agent, one implementation per OSVI chat API flavour (<c>Osvi:ApiVersion</c>):
/// <see cref="LegacyAgentConversation"/> and <see cref="V1AgentConversation"/>. Failures are
/// <see cref="OsviException"/>s; a session OSVI no longer has is always <see cref="OsviSessionNotFoundException"/>,
/// so the caller can start another and resend once, whichever flavour runs.
/// </summary>
public interface IAgentConversation
{
    OsviApiVersion ApiVersion { get; }

    /// <summary>Starts a new session for the conversation; <paramref name="personName"/> is the sender's display name.</summary>
    Task<AgentSession> StartSessionAsync(ConversationKey conversation, string? personName, CancellationToken cancellationToken);

    /// <summary>Sends one user message in the session and returns the agent's turn.</summary>
    Task<AgentTurn> SendAsync(string sessionId, ConversationKey conversation, string text, CancellationToken cancellationToken);

    /// <summary>Closes the session at OSVI (the conversation's next message starts another).</summary>
    Task CloseSessionAsync(string sessionId, ConversationKey conversation, CancellationToken cancellationToken);

    /// <summary>
    /// The conversation's session OSVI still holds open, when the flavour can tell (v1:
    /// <c>GET /v1/chat/session/active</c>); null when there is none, and always null for legacy.
    /// </summary>
    Task<AgentSession?> FindActiveSessionAsync(ConversationKey conversation, CancellationToken cancellationToken);
}

/// <summary>
/// A session at OSVI. <see cref="WelcomeMessage"/> only comes from legacy <c>POST /chat_sessions</c>; v1 has none.
/// <see cref="Mode"/> and <see cref="HelpRequested"/> only come from v1's session object.
/// </summary>
public sealed record AgentSession(string SessionId, string? WelcomeMessage)
{
    public string? AgentName { get; init; }

    public string? Mode { get; init; }

    public bool HelpRequested { get; init; }
}

/// <summary>
/// The agent's answer to one message. <see cref="Text"/> may be empty: with <see cref="Mode"/>
/// <c>support</c> a human has the conversation and the agent stays silent. <see cref="Mode"/> is null for legacy.
/// </summary>
public sealed record AgentTurn(string SessionId, string Text)
{
    public string? Mode { get; init; }

    /// <summary>v1: the user asked for a human, or the agent judged it is out of its depth.</summary>
    public bool HelpRequested { get; init; }

    /// <summary>The multi-prompt agent's current state, when it has states.</summary>
    public string? State { get; init; }

    /// <summary>v1 <c>mode: "support"</c>: a human operator is involved and the agent does not answer on its own.</summary>
    public bool HumanHasConversation => string.Equals(Mode, AgentModes.Support, StringComparison.OrdinalIgnoreCase);
}

/// <summary>The values of v1's <c>mode</c> (the docs say <c>support</c>, not <c>human</c>).</summary>
public static class AgentModes
{
    public const string Ai = "ai";
    public const string Support = "support";
}
