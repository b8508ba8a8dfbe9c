using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.IntegrationTests.Infrastructure;

/// <summary>
/// The real worker (<see cref="BridgeApp.CreateWorker"/>) running in this process on a free
/// loopback port, configured like a deployment would be but through a settings dictionary.
/// </summary>
public sealed class BridgeHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private BridgeHost(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
        Http = new HttpClient { BaseAddress = baseAddress };
    }

    public IServiceProvider Services => _app.Services;

    public Uri BaseAddress { get; }

    /// <summary>A client for the bridge's own HTTP endpoints (health, webhooks).</summary>
    public HttpClient Http { get; }

    public IInbox Inbox => Services.GetRequiredService<IInbox>();

    /// <summary>Accepts the message and waits until this bridge has handled it.</summary>
    public async Task<global::Osvi.Bridge.Dispatching.DeliveryResult> HandleAsync(InboundMessage message, TimeSpan? limit = null)
    {
        var handled = Handled.Watch(message);
        await Inbox.AcceptAsync(message, CancellationToken.None);
        return await handled.WaitAsync(limit ?? TimeSpan.FromSeconds(30));
    }

    /// <summary>Tells when a message was handled in this bridge (take the watch before accepting).</summary>
    public global::Osvi.Bridge.Dispatching.HandledMessages Handled => Services.GetRequiredService<global::Osvi.Bridge.Dispatching.HandledMessages>();

    /// <summary>The settings every test needs: OSVI fake, Redis (or none), quiet logs, fast retries.</summary>
    public static Dictionary<string, string?> BaseSettings(FakeOsviServer osvi, RedisServerFixture? redis, string? keyPrefix = null)
    {
        var settings = BaseSettingsCore(redis, keyPrefix);
        settings["Osvi:BaseUrl"] = osvi.BaseUrl;
        return settings;
    }

    private static Dictionary<string, string?> BaseSettingsCore(RedisServerFixture? redis, string? keyPrefix) => new()
    {
        ["urls"] = "http://127.0.0.1:0",
        ["Osvi:ApiToken"] = FakeOsviServer.Token,
        ["Osvi:AgentUuid"] = FakeOsviServer.Agent,
        ["Osvi:RetryDelay"] = "00:00:00.010",
        ["Osvi:RequestTimeout"] = "00:00:10",
        ["Osvi:TotalTimeout"] = "00:00:30",
        ["Redis:ConnectionString"] = redis?.ConnectionString ?? "",
        ["Redis:KeyPrefix"] = keyPrefix ?? RedisServerFixture.NewKeyPrefix(),
        ["Bridge:ShutdownTimeout"] = "00:00:10",
        ["Logging:LogLevel:Default"] = "Warning",
    };

    /// <summary>As <see cref="BaseSettings(FakeOsviServer, RedisServerFixture?, string?)"/>, speaking OSVI Chat v1 to its stand-in.</summary>
    public static Dictionary<string, string?> BaseSettings(FakeOsviV1Server osvi, RedisServerFixture? redis, string? keyPrefix = null) =>
        BaseSettings(osvi.BaseUrl, redis, keyPrefix, "V1");

    /// <summary>The settings for an OSVI at <paramref name="osviBaseUrl"/>, which may not be listening yet.</summary>
    public static Dictionary<string, string?> BaseSettings(string osviBaseUrl, RedisServerFixture? redis, string? keyPrefix = null, string apiVersion = "Legacy")
    {
        var settings = BaseSettingsCore(redis, keyPrefix);
        settings["Osvi:BaseUrl"] = osviBaseUrl;
        settings["Osvi:ApiVersion"] = apiVersion;
        return settings;
    }

    /// <summary>Builds and starts the worker. <paramref name="services"/> may add a test channel.</summary>
    public static async Task<BridgeHost> StartAsync(IDictionary<string, string?> settings, Action<IServiceCollection>? services = null)
    {
        var app = BridgeApp.CreateWorker([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            services?.Invoke(builder.Services);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new BridgeHost(app, new Uri(address));
    }

    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Http.Dispose();
        await _app.DisposeAsync();
    }
}
