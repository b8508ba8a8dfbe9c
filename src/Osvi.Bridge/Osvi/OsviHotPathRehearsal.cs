using Microsoft.Extensions.Options;
using Osvi.Bridge.Hosting;

namespace Osvi.Bridge.Osvi;

/// <summary>
/// Sends the start-up check's read-only call (no session is created) through the HttpClient the
/// conversations use: its resilience pipeline is built and its connection to OSVI is open before the
/// first message needs them (the probe's own client has neither).
/// </summary>
internal sealed class OsviHotPathRehearsal(IHttpClientFactory httpFactory, OsviAccessProbe probe, IOptions<OsviOptions> options) : IHotPathRehearsal
{
    public string Name => "osvi";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        // Typed clients are named after their type; this is the client behind IAgentConversation.
        var name = options.Value.ApiVersion == OsviApiVersion.V1 ? nameof(V1AgentConversation) : nameof(OsviClient);
        using var http = httpFactory.CreateClient(name);
        _ = await probe.ProbeAsync(http, cancellationToken);
    }
}
