using System.Collections.Concurrent;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Dispatching;

/// <summary>
/// Tells who asks when a message accepted here has been handled in this process: the terminal chat
/// waits on it before its next prompt, tests wait on it instead of guessing a delay. A watch must be
/// taken before the message is accepted. With several replicas, a message handled elsewhere is not seen.
/// </summary>
public sealed class HandledMessages
{
    private readonly ConcurrentDictionary<(string Platform, string EventId), TaskCompletionSource<DeliveryResult>> _watches = new();

    /// <summary>Completes with the result once the message is handled (or given up) in this process.</summary>
    public Task<DeliveryResult> Watch(InboundMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return _watches.GetOrAdd((message.Platform, message.DeduplicationId),
            static _ => new TaskCompletionSource<DeliveryResult>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
    }

    /// <summary>Called by the inbox when a message's handling ended; a message nobody watches costs a lookup.</summary>
    public void Report(InboundMessage message, DeliveryResult result)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!_watches.IsEmpty && _watches.TryRemove((message.Platform, message.DeduplicationId), out var watch))
        {
            watch.TrySetResult(result);
        }
    }
}
