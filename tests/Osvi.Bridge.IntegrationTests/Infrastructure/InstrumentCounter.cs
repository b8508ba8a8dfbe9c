using System.Diagnostics.Metrics;

namespace Osvi.Bridge.IntegrationTests.Infrastructure;

/// <summary>
/// Sums one counter of one bridge's meter, optionally only measurements with a given tag. Tests run
/// several bridges in this process, and <c>/metrics</c> of each would also show the others' meters of the same name.
/// </summary>
public sealed class InstrumentCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;
    private long _measurements;

    public InstrumentCounter(Meter meter, string instrument, KeyValuePair<string, object?>? tag = null)
    {
        _listener.InstrumentPublished = (published, listener) =>
        {
            if (ReferenceEquals(published.Meter, meter) && published.Name == instrument)
            {
                listener.EnableMeasurementEvents(published);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (tag is not { } wanted)
            {
                Interlocked.Add(ref _total, value);
                return;
            }
            foreach (var t in tags)
            {
                if (t.Key == wanted.Key && Equals(t.Value, wanted.Value))
                {
                    Interlocked.Add(ref _total, value);
                }
            }
        });
        _listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _measurements));
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    /// <summary>How many values a histogram (of doubles) recorded.</summary>
    public long Measurements => Interlocked.Read(ref _measurements);

    public void Dispose() => _listener.Dispose();
}
