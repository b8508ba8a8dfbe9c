using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Relay;
using Osvi.Bridge.Storage;

namespace Osvi.Bridge.Handoff;

/// <summary>
/// Registers the human handoff when <c>Handoff:SlackChannel</c> is set (after the core and the Slack channel):
/// the support channel's messages are taken in by the Slack adapter (<see cref="SlackSupportChannel"/>), routed to
/// <see cref="OperatorMessageHandler"/>, and the relay reports its turns to <see cref="SupportThreads"/>.
/// </summary>
public static class HandoffServiceCollectionExtensions
{
    public static IServiceCollection AddHandoff(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(HandoffOptions.Section);
        services.AddOptions<HandoffOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HandoffOptions>, HandoffOptionsValidator>();
        services.AddSingleton<IValidateOptions<HandoffOptions>>(new HandoffRequirements(configuration));
        var settings = section.Get<HandoffOptions>() ?? new HandoffOptions();
        if (!settings.IsEnabled || !services.Any(d => d.ServiceType == typeof(SlackApiClient)))
        {
            // Off, or its configuration error is reported at start (validation above).
            return services;
        }

        services.AddSingleton(sp => new SlackSupportChannel(sp.GetRequiredService<IOptions<HandoffOptions>>().Value.SlackChannel));
        var redis = configuration.GetSection(RedisOptions.Section).Get<RedisOptions>() ?? new RedisOptions();
        if (redis.IsConfigured)
        {
            services.AddSingleton<IHandoffStore, RedisHandoffStore>();
        }
        else
        {
            services.AddSingleton<IHandoffStore, InMemoryHandoffStore>();
        }
        services.AddSingleton<SupportChannel>();
        services.AddSingleton<SupportThreads>();
        services.Replace(ServiceDescriptor.Singleton<IHumanHandoff>(sp => sp.GetRequiredService<SupportThreads>()));
        services.AddSingleton<OperatorMessageHandler>();
        services.TryAddSingleton<MessageRelay>();
        services.Replace(ServiceDescriptor.Singleton<IMessageHandler, HandoffMessageRouter>());
        return services;
    }
}
