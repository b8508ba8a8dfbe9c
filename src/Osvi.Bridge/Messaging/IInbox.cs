namespace Osvi.Bridge.Messaging;

/// <summary>
/// Where adapters hand over inbound messages. An adapter acknowledges an event to its platform only
/// after <see cref="AcceptAsync"/> returned: the inbox then holds the message (in Redis with the durable
/// inbox) until it is answered or given up for good.
/// </summary>
public interface IInbox
{
    /// <summary>
    /// Accepts a message for ordered processing. Throws <see cref="InboxClosedException"/> once shutdown
    /// has begun, or the store's error when it could not be kept: do not acknowledge then.
    /// </summary>
    ValueTask<InboxReceipt> AcceptAsync(InboundMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Accepts several messages at once, in the given order, sharing round trips. Either every message
    /// gets a receipt, or an exception says the adapter must not acknowledge any of them: those that
    /// were kept after all are dropped as duplicates when the platform delivers them again.
    /// </summary>
    ValueTask<IReadOnlyList<InboxReceipt>> AcceptManyAsync(IReadOnlyList<InboundMessage> messages, CancellationToken cancellationToken);
}

/// <summary>What happened to a message handed to the inbox.</summary>
public enum InboxOutcome
{
    /// <summary>Kept; it will be answered (a redelivery found later is dropped then).</summary>
    Accepted,

    /// <summary>Recognized at once as a redelivery of an event already taken; not kept again.</summary>
    Duplicate,
}

/// <summary>The inbox's answer to one accepted message.</summary>
public sealed record InboxReceipt(InboxOutcome Outcome);

/// <summary>The inbox no longer takes messages because the bridge is shutting down.</summary>
public sealed class InboxClosedException : InvalidOperationException
{
    public InboxClosedException() : base("The inbox is closed: the bridge is shutting down.") { }
    public InboxClosedException(string message) : base(message) { }
    public InboxClosedException(string message, Exception innerException) : base(message, innerException) { }
}
