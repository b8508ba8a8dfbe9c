using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Dispatching;

/// <summary>What the dispatcher runs for each message, one at a time per conversation.</summary>
public interface IMessageHandler
{
    /// <summary>
    /// Called as a message is accepted while its conversation has nothing queued, before the
    /// de-duplication answer is in: reads started here share that round trip. It must have no side
    /// effects (the message may still be dropped as a redelivery); what it returns reaches
    /// <see cref="HandleAsync(InboundMessage, object?, CancellationToken)"/>.
    /// </summary>
    object? Prepare(InboundMessage message) => null;

    Task HandleAsync(InboundMessage message, CancellationToken cancellationToken);

    /// <summary>Handles the message with what <see cref="Prepare"/> returned for it (null when not prepared).</summary>
    Task HandleAsync(InboundMessage message, object? prepared, CancellationToken cancellationToken) => HandleAsync(message, cancellationToken);
}
