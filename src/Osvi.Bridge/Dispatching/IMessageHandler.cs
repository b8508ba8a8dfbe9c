using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Dispatching;

/// <summary>What the dispatcher runs for each message, one at a time per conversation.</summary>
public interface IMessageHandler
{
    /// <summary>
    /// Called as a message is accepted while its conversation has nothing queued, before the
    /// de-duplication answer is in: reads started here share that round trip. What it returns reaches
    /// <see cref="HandleAsync(InboundMessage, object?, CancellationToken)"/>, or <see cref="Abandon"/>
    /// when the message is not handled after all (a redelivery, a failed acceptance, a shutdown), so
    /// anything it took (a lock, say) must be given back there.
    /// </summary>
    object? Prepare(InboundMessage message) => null;

    /// <summary>Gives back what <see cref="Prepare"/> took for a message that will not be handled.</summary>
    void Abandon(object? prepared)
    {
    }

    Task HandleAsync(InboundMessage message, CancellationToken cancellationToken);

    /// <summary>Handles the message with what <see cref="Prepare"/> returned for it (null when not prepared).</summary>
    Task HandleAsync(InboundMessage message, object? prepared, CancellationToken cancellationToken) => HandleAsync(message, cancellationToken);
}
