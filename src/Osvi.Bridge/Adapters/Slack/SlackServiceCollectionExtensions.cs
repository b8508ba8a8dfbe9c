using Microsoft.Extensions.Options;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>Registers the Slack channel when <c>Slack:BotToken</c> is set.</summary>
public static class SlackServiceCollectionExtensions
{
    public static IServiceCollection AddSlackChannel(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(SlackOptions.Section);
        var settings = section.Get<SlackOptions>() ?? new SlackOptions();
        if (!settings.IsEnabled)
        {
            return services;
        }

        services.AddOptions<SlackOptions>()
            .Bind(section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddHttpClient<SlackApiClient>((sp, http) =>
            {
                var options = sp.GetRequiredService<IOptions<SlackOptions>>().Value;
                http.BaseAddress = new Uri(options.ApiBaseUrl.TrimEnd('/') + "/");
                // The resilience pipeline owns every timeout; HttpClient's own would cut retries short.
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            // The client lives in singletons; pooled connections are recycled so DNS changes are seen.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .AddResilienceHandler(SlackResilience.PipelineName, (pipeline, context) => SlackResilience.Configure(pipeline, context.ServiceProvider));

        services.AddSingleton<SlackBotIdentityHolder>();
        services.AddSingleton<SlackUserDirectory>();
        services.AddSingleton<IDisplayNameResolver>(sp => sp.GetRequiredService<SlackUserDirectory>());
        services.AddSingleton<SlackEventIngestor>();
        services.AddSingleton<IHotPathRehearsal, SlackHotPathRehearsal>();
        services.AddSingleton<SlackPostPacer>();
        services.AddSingleton<SlackReplySender>();
        services.AddSingleton<IReplySender>(sp => sp.GetRequiredService<SlackReplySender>());
        services.AddSingleton<IQuoteSource, SlackThreadParentQuote>();
        services.AddSingleton<SlackSocketModeClient>();
        if (settings.Mode == SlackReceiveMode.EventsApi)
        {
            services.AddSingleton(sp => new SlackSignatureVerifier(
                sp.GetRequiredService<IOptions<SlackOptions>>().Value.SigningSecret, sp.GetRequiredService<TimeProvider>()));
            services.AddSingleton<SlackEventsEndpoint>();
            services.AddSingleton<SlackCommandsEndpoint>();
        }
        services.AddSingleton<Hosting.IDependencyCheck, SlackDependencyCheck>();
        services.AddHostedService<SlackChannelService>();
        return services;
    }

    public static IEndpointRouteBuilder MapSlackEndpoints(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        // Registered only in Events API mode: in Socket Mode there is no public endpoint to attack.
        if (endpoints.ServiceProvider.GetService<SlackEventsEndpoint>() is not null)
        {
            // A plain RequestDelegate: minimal-API parameter binding would compile expression trees at start-up.
            endpoints.MapPost(SlackEventsEndpoint.Path, static async context =>
            {
                var result = await context.RequestServices.GetRequiredService<SlackEventsEndpoint>().HandleAsync(context);
                await result.ExecuteAsync(context);
            });
            endpoints.MapPost(SlackCommandsEndpoint.Path, static async context =>
            {
                var result = await context.RequestServices.GetRequiredService<SlackCommandsEndpoint>().HandleAsync(context);
                await result.ExecuteAsync(context);
            });
        }
        return endpoints;
    }
}
