namespace Osvi.Bridge.Dispatching;

/// <summary>Remembers which platform events were accepted, for a window, so a redelivery is handled once.</summary>
public interface IDeduplicationStore
{
    /// <summary>Marks the event as seen; false when it already was.</summary>
    Task<bool> TryMarkAsync(string platform, string eventId, CancellationToken cancellationToken);

    /// <summary>Forgets a mark, for an event that was marked but could not be accepted after all.</summary>
    Task UnmarkAsync(string platform, string eventId, CancellationToken cancellationToken);
}
