using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Sessions;
using StackExchange.Redis;

namespace Osvi.Bridge.Storage;

/// <summary>
/// Chooses the Redis stores when <c>Redis:ConnectionString</c> is set and the in-memory ones
/// otherwise, and registers one shared <see cref="IConnectionMultiplexer"/>. Stores registered
/// before this call are kept (TryAdd), so a host can supply its own.
/// </summary>
public static class StorageServiceCollectionExtensions
{
    public static IServiceCollection AddBridgeStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RedisOptions>().Bind(configuration.GetSection(RedisOptions.Section));
        services.AddOptions<SessionsOptions>()
            .Bind(configuration.GetSection(SessionsOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<RedisKeys>();
        services.AddSingleton<ReplicaLeases>();

        var redis = configuration.GetSection(RedisOptions.Section).Get<RedisOptions>() ?? new RedisOptions();
        if (redis.IsConfigured)
        {
            services.AddSingleton<IConnectionMultiplexer>(sp =>
            {
                var config = ConfigurationOptions.Parse(sp.GetRequiredService<IOptions<RedisOptions>>().Value.ConnectionString);
                // Start even while Redis is briefly away; /readyz tells, and commands retry on reconnect.
                config.AbortOnConnectFail = false;
                // Read replies on the shared thread pool: the library's default pool of ten dedicated
                // threads handed every reply from thread to thread (about 35 context switches per
                // message at a steady 500/s; bench/README.md).
                config.SocketManager ??= SocketManager.ThreadPool;
                return ConnectionMultiplexer.Connect(config);
            });
            services.TryAddSingleton<ISessionStore, RedisSessionStore>();
            services.TryAddSingleton<IDeduplicationStore, RedisDeduplicationStore>();
        }
        else
        {
            services.TryAddSingleton<ISessionStore, InMemorySessionStore>();
            services.TryAddSingleton<IDeduplicationStore, InMemoryDeduplicationStore>();
        }
        return services;
    }
}
