using System.Net.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.Osvi;

namespace Osvi.Bridge.Tests;

public sealed class OperationsTests
{
    [Theory]
    [InlineData(null, null, "http://127.0.0.1:8080/healthz")]
    [InlineData(null, "9090", "http://127.0.0.1:9090/healthz")]
    [InlineData("http://+:7070", "9090", "http://127.0.0.1:7070/healthz")]
    [InlineData("https://0.0.0.0:8443;http://0.0.0.0:7071", null, "http://127.0.0.1:7071/healthz")]
    [InlineData("http://127.0.0.2:7072/", null, "http://127.0.0.2:7072/healthz")]
    [InlineData("http://[::]:7073", null, "http://127.0.0.1:7073/healthz")]
    public void Healthcheck_probes_the_address_the_bridge_listens_on(string? urls, string? ports, string expected)
    {
        var environment = new Dictionary<string, string?> { ["ASPNETCORE_URLS"] = urls, ["ASPNETCORE_HTTP_PORTS"] = ports };

        Assert.Equal(expected, HealthcheckCommand.DefaultUrl(name => environment.GetValueOrDefault(name)));
    }

    [Theory]
    [InlineData("telegram")]
    [InlineData("OsviClient")]
    [InlineData("SlackApiClient")]
    [InlineData(OsviAccessProbe.HttpClientName)]
    public void Every_outbound_http_client_recycles_its_pooled_connections(string client)
    {
        using var app = BridgeApp.CreateWorker([], b =>
        {
            b.Configuration.Sources.Clear();
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Osvi:ApiToken"] = "t", ["Osvi:AgentUuid"] = "a", ["Telegram:BotToken"] = "123:abc",
                ["Slack:BotToken"] = "xoxb-1", ["Slack:SigningSecret"] = "s",
            });
        });

        HttpMessageHandler? handler = app.Services.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler(client);
        while (handler is DelegatingHandler delegating)
        {
            handler = delegating.InnerHandler;
        }

        var sockets = Assert.IsType<SocketsHttpHandler>(handler);
        Assert.True(sockets.PooledConnectionLifetime > TimeSpan.Zero && sockets.PooledConnectionLifetime < TimeSpan.FromHours(1),
            $"{client}: PooledConnectionLifetime {sockets.PooledConnectionLifetime}");
    }
}
