namespace Osvi.Bridge.Handoff;

/// <summary>
/// The map session ↔ support thread, and a session's last few relayed turns: in Redis
/// (<see cref="RedisHandoffStore"/>, shared by replicas, kept across restarts) or in this process
/// (<see cref="InMemoryHandoffStore"/>, without Redis). Entries expire with the session (<c>Sessions:IdleTimeout</c>).
/// </summary>
public interface IHandoffStore
{
    Task<HandoffThread?> FindBySessionAsync(string sessionId, CancellationToken cancellationToken);

    Task<HandoffThread?> FindByThreadAsync(string channel, string threadTs, CancellationToken cancellationToken);

    /// <summary>Stores the thread unless its session has one already; false then (the caller removes its post).</summary>
    Task<bool> TryAddAsync(HandoffThread thread, CancellationToken cancellationToken);

    Task SetOperatorActiveAsync(string sessionId, bool active, CancellationToken cancellationToken);

    /// <summary>Records that an operator answered; true only the first time (time to first reply).</summary>
    Task<bool> MarkAnsweredAsync(string sessionId, CancellationToken cancellationToken);

    Task CloseAsync(string sessionId, CancellationToken cancellationToken);

    /// <summary>Keeps the turn among the session's last <see cref="RecentTurns"/>; not waited for (a lost one only shortens the context).</summary>
    void AppendTurn(string sessionId, RelayedTurn turn);

    Task<IReadOnlyList<RelayedTurn>> RecentTurnsAsync(string sessionId, CancellationToken cancellationToken);

    /// <summary>Extends the thread's expiry while it is in use.</summary>
    void Touch(HandoffThread thread);

    /// <summary>How many relayed turns a help request shows.</summary>
    public const int RecentTurns = 5;
}
