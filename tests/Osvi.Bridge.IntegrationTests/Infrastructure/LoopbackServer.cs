using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;

namespace Osvi.Bridge.IntegrationTests.Infrastructure;

/// <summary>The shared start of every fake platform: a quiet Kestrel on a free 127.0.0.1 port.</summary>
public static class LoopbackServer
{
    /// <param name="port">0 for a free one; a given port lets a test bring a server up where a client already knocks.</param>
    public static WebApplicationBuilder CreateBuilder(int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        return builder;
    }

    /// <summary>The address Kestrel bound, e.g. <c>http://127.0.0.1:41234</c>; valid once started.</summary>
    /// <summary>A port nothing listens on right now: connecting to it is refused until a server takes it.</summary>
    public static int FreePort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }

    public static string AddressOf(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
}
