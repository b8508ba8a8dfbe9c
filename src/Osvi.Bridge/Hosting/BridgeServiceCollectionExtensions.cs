using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Osvi;
using Osvi.Bridge.Relay;
using Osvi.Bridge.Storage;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Hosting;

/// <summary>Registers the core of the bridge: options, OSVI client, stores, relay and dispatcher (no channels).</summary>
public static class BridgeServiceCollectionExtensions
{
    /// <summary>How long an outbound HTTP connection is reused before a new one (and a new DNS lookup) is made.</summary>
    public static readonly TimeSpan PooledConnectionLifetime = TimeSpan.FromMinutes(5);

    public static IServiceCollection AddBridgeCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BridgeOptions>()
            .Bind(configuration.GetSection(BridgeOptions.Section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<BridgeOptions>, BridgeOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<ChannelStatusBoard>();
        services.AddSingleton<StartupFailure>();
        services.AddMetrics();
        services.AddSingleton<BridgeMetrics>();
        // The factory's per-request log handlers would print request URLs (Telegram's hold the bot
        // token) and push two log scopes onto every call; metrics and traces already cover requests.
        // Every client lives in a singleton, so the factory's handler rotation never reaches it:
        // pooled connections are recycled instead, and DNS changes (a moved endpoint) are seen.
        services.ConfigureHttpClientDefaults(http => http
            .RemoveAllLoggers()
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = PooledConnectionLifetime }));
        services.AddOsviClient(configuration);
        services.AddBridgeStorage(configuration);
        services.AddSingleton<SessionResolver>();
        services.AddSingleton<IMessageHandler, MessageRelay>();
        services.TryAddSingleton<Handoff.IHumanHandoff, Handoff.NoHumanHandoff>();
        services.AddBridgeInbox(configuration);
        services.AddHostedService<RedisConnectionReport>();
        return services;
    }
}
