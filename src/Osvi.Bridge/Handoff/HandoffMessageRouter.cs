using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Relay;

namespace Osvi.Bridge.Handoff;

/// <summary>The inbox's handler with handoff on: operators' posts from the support channel go to <see cref="OperatorMessageHandler"/>, users' messages to the relay.</summary>
public sealed class HandoffMessageRouter(MessageRelay relay, OperatorMessageHandler operators) : IMessageHandler
{
    public Task<HandlingOutcome> HandleAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        return string.Equals(delivery.Message.Platform, SlackEventParser.SupportPlatform, StringComparison.Ordinal)
            ? operators.HandleAsync(delivery, cancellationToken)
            : relay.HandleAsync(delivery, cancellationToken);
    }
}
