using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Storage;

namespace Osvi.Bridge.Dispatching;

/// <summary>
/// Registers the inbox: the durable <see cref="RedisStreamInbox"/> when <c>Redis:ConnectionString</c> is
/// set, the single-process <see cref="InMemoryInbox"/> otherwise. Adapters and the relay see only
/// <see cref="IInbox"/> and <see cref="IMessageHandler"/>, whichever runs.
/// </summary>
public static class InboxServiceCollectionExtensions
{
    public static IServiceCollection AddBridgeInbox(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<InboxOptions>()
            .Bind(configuration.GetSection(InboxOptions.Section))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<InboxOptions>, InboxOptionsValidator>());
        services.TryAddSingleton<HandledMessages>();
        services.TryAddSingleton<DeliveryRunner>();
        var redis = configuration.GetSection(RedisOptions.Section).Get<RedisOptions>() ?? new RedisOptions();
        if (services.Any(d => d.ServiceType == typeof(IInbox)))
        {
            // A host chose its inbox already (the terminal chat keeps its conversation in process).
        }
        else if (redis.IsConfigured)
        {
            services.AddSingleton<RedisStreamInbox>();
            services.AddSingleton<IInbox>(sp => sp.GetRequiredService<RedisStreamInbox>());
            // Registered before any channel so that it stops after them: channels stop taking events,
            // then the inbox finishes what it holds and leaves the rest in Redis.
            services.AddHostedService(sp => sp.GetRequiredService<RedisStreamInbox>());
        }
        else
        {
            services.AddInMemoryInbox();
        }
        return services;
    }

    /// <summary>
    /// The single-process inbox regardless of Redis: for the terminal chat, whose replies can only be
    /// shown by this process (a worker on the same Redis must not take its messages).
    /// </summary>
    public static IServiceCollection AddInMemoryInbox(this IServiceCollection services)
    {
        services.AddSingleton<InMemoryInbox>();
        services.AddSingleton<IInbox>(sp => sp.GetRequiredService<InMemoryInbox>());
        services.AddHostedService(sp => sp.GetRequiredService<InMemoryInbox>());
        return services;
    }
}
