using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Dispatching;

/// <summary>
/// What the inbox runs for each message, one at a time per conversation. It returns what became of
/// the attempt and the inbox acts on that; it throws only when its cancellation token
/// ends the attempt (the message then stays in the inbox).
/// </summary>
public interface IMessageHandler
{
    Task<HandlingOutcome> HandleAsync(Delivery delivery, CancellationToken cancellationToken);
}

/// <summary>
/// One attempt at one message: the message, which attempt this is (1 for the first), whether the
/// inbox gives up if it fails too, and the message's journal (what earlier attempts already did).
/// </summary>
public sealed record Delivery(InboundMessage Message, int Attempt, bool IsLastAttempt, IMessageJournal Journal);
