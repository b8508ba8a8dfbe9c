namespace Osvi.Bridge.Dispatching;

/// <summary>
/// What the handler reports for one attempt at a message; the inbox acts on it: a finished message
/// leaves the inbox, a retry keeps it (and its conversation's turn) for another attempt after a pause,
/// a dead letter moves it aside with its reason.
/// </summary>
public abstract record HandlingOutcome(string Reason)
{
    public static readonly HandlingOutcome Done = new Finished("done");

    public static HandlingOutcome RetryLater(string reason) => new Retry(reason);

    public static HandlingOutcome DeadLetter(string reason) => new GiveUp(reason);

    /// <summary>The message is finished: answered, refused for good, or deliberately not answered.</summary>
    public sealed record Finished(string Reason) : HandlingOutcome(Reason);

    /// <summary>Something transient failed (the platform, Redis); try the same message again later.</summary>
    public sealed record Retry(string Reason) : HandlingOutcome(Reason);

    /// <summary>The message cannot be handled; keep it aside for an operator.</summary>
    public sealed record GiveUp(string Reason) : HandlingOutcome(Reason);
}
