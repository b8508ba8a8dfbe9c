using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Osvi;

/// <summary>
/// The agent port over OSVI's legacy chat API (<see cref="OsviClient"/>): sessions are not tied to a
/// customer, so the conversation key only matters to the caller, and there is no active-session lookup.
/// </summary>
public sealed class LegacyAgentConversation(OsviClient osvi) : IAgentConversation
{
    public OsviApiVersion ApiVersion => OsviApiVersion.Legacy;

    public async Task<AgentSession> StartSessionAsync(ConversationKey conversation, string? personName, CancellationToken cancellationToken)
    {
        var session = await osvi.StartSessionAsync(personName, cancellationToken);
        return new AgentSession(session.SessionId, session.WelcomeMessage) { AgentName = session.AgentName };
    }

    public async Task<AgentTurn> SendAsync(string sessionId, ConversationKey conversation, string text, CancellationToken cancellationToken)
    {
        var reply = await osvi.SendMessageAsync(sessionId, text, cancellationToken);
        // The session id echoed back is not trusted (an older docs example shows another one): the
        // conversation stays on the session it sent to.
        return new AgentTurn(sessionId, reply.Response) { State = reply.CurrentState };
    }

    public Task CloseSessionAsync(string sessionId, ConversationKey conversation, CancellationToken cancellationToken) =>
        osvi.CloseSessionAsync(sessionId, cancellationToken);

    public Task<AgentSession?> FindActiveSessionAsync(ConversationKey conversation, CancellationToken cancellationToken) =>
        Task.FromResult<AgentSession?>(null);
}
