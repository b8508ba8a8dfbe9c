using Osvi.Bridge.Messaging;
using Osvi.Bridge.Osvi;

namespace Osvi.Bridge.Handoff;

/// <summary>
/// What the relay tells the human side of a conversation, when <c>Handoff:SlackChannel</c> is set
/// (<see cref="SupportThreads"/>; otherwise <see cref="NoHumanHandoff"/>): before a turn it asks whether an
/// operator has the session, after it reports the turn (which may open a support thread or be mirrored into
/// one), and it reports an agent that could not be reached. Support-channel failures are logged, never thrown:
/// they must not cost the user their answer.
/// </summary>
public interface IHumanHandoff
{
    Task<HandoffStatus> FindAsync(string sessionId, CancellationToken cancellationToken);

    /// <summary>After the user's reply went out: open a thread on <c>help_requested</c>, or mirror the turn into the open one.</summary>
    Task AfterTurnAsync(InboundMessage message, AgentTurn turn, HandoffStatus status, CancellationToken cancellationToken);

    /// <summary>The agent could not answer: flag the conversation in the support channel (fail toward a human).</summary>
    Task AgentFailedAsync(InboundMessage message, string? sessionId, HandoffStatus status, string reason, CancellationToken cancellationToken);
}

/// <summary>A session's support thread as the relay sees it before a turn; <see cref="None"/> without one.</summary>
public sealed record HandoffStatus(HandoffThread? Thread)
{
    public static readonly HandoffStatus None = new((HandoffThread?)null);

    /// <summary>An operator has the conversation: no progress indicator, no apology; the user's words go to the thread.</summary>
    public bool OperatorActive => Thread is { OperatorActive: true, Closed: false };
}

/// <summary>No support channel configured: the relay runs as without handoff.</summary>
public sealed class NoHumanHandoff : IHumanHandoff
{
    public Task<HandoffStatus> FindAsync(string sessionId, CancellationToken cancellationToken) => Task.FromResult(HandoffStatus.None);

    public Task AfterTurnAsync(InboundMessage message, AgentTurn turn, HandoffStatus status, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task AgentFailedAsync(InboundMessage message, string? sessionId, HandoffStatus status, string reason, CancellationToken cancellationToken) =>
        Task.CompletedTask;
}
