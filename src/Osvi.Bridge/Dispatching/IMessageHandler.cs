using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Dispatching;

/// <summary>What the dispatcher runs for each message, one at a time per conversation.</summary>
public interface IMessageHandler
{
    Task HandleAsync(InboundMessage message, CancellationToken cancellationToken);
}
