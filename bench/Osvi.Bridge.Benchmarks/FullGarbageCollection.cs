using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;

namespace Osvi.Bridge.Benchmarks;

/// <summary>
/// Makes the bridge process run a full, compacting GC from outside (an EventPipe session with the
/// runtime's GCHeapCollect keyword, the way dotnet-gcdump does). An idle process allocates nothing,
/// so without this its heap size still holds the garbage of the last burst and says nothing about
/// what each idle conversation keeps alive.
/// </summary>
internal static class FullGarbageCollection
{
    private const long GcKeyword = 0x1;
    private const long GcHeapCollectKeyword = 0x800000;

    public static async Task InduceAsync(int pid, CancellationToken cancellationToken)
    {
        var client = new DiagnosticsClient(pid);
        var provider = new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, GcKeyword | GcHeapCollectKeyword);
        using var session = await client.StartEventPipeSessionAsync([provider], requestRundown: false, circularBufferMB: 16, cancellationToken);
        // The events must be drained or the runtime's buffer fills; their content is not needed.
        var drain = session.EventStream.CopyToAsync(Stream.Null, cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(1.5), cancellationToken);
        await session.StopAsync(cancellationToken);
        await drain.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
