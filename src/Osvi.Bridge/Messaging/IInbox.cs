namespace Osvi.Bridge.Messaging;

/// <summary>
/// Where adapters hand over inbound messages. An adapter acknowledges an event to its platform only
/// after <see cref="AcceptAsync"/> returned; the inbox then owns the message until it is answered.
/// </summary>
public interface IInbox
{
    /// <summary>
    /// Accepts a message for ordered processing, waiting while the inbox is full (back-pressure).
    /// A message id seen before is reported as <see cref="InboxOutcome.Duplicate"/> and not queued.
    /// Throws <see cref="InboxClosedException"/> once shutdown has begun: do not acknowledge then.
    /// </summary>
    ValueTask<InboxReceipt> AcceptAsync(InboundMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Accepts several messages at once, in the given order, with their de-duplication checks done
    /// together (one round trip for a whole poll of updates instead of one per update). Either every
    /// message gets a receipt, or an exception says none was accepted: the adapter then confirms
    /// none of them, and any that were accepted after all are dropped as duplicates on redelivery.
    /// </summary>
    ValueTask<IReadOnlyList<InboxReceipt>> AcceptManyAsync(IReadOnlyList<InboundMessage> messages, CancellationToken cancellationToken);
}

/// <summary>What happened to a message handed to the inbox.</summary>
public enum InboxOutcome
{
    Accepted,
    Duplicate,
}

/// <summary>
/// The inbox's answer. <see cref="Completion"/> finishes when this process has handled the
/// message (already complete for duplicates); adapters must not wait on it before acknowledging.
/// </summary>
public sealed record InboxReceipt(InboxOutcome Outcome, Task Completion);

/// <summary>The inbox no longer takes messages because the bridge is shutting down.</summary>
public sealed class InboxClosedException : InvalidOperationException
{
    public InboxClosedException() : base("The inbox is closed: the bridge is shutting down.") { }
    public InboxClosedException(string message) : base(message) { }
    public InboxClosedException(string message, Exception innerException) : base(message, innerException) { }
}
