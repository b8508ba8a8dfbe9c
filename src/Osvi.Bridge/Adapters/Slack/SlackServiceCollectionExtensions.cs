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
        var entries = SlackAppEntries.Sections(configuration);
        if (entries.Count == 0)
        {
            return services;
        }
        var first = entries[0];
        var settings = SlackAppEntries.Bind(section, first);

        services.AddOptions<SlackOptions>()
            .Bind(section)
            .Configure(options =>
            {
                if (first.Path != section.Path)
                {
                    // The default app from Slack:Apps:0: its own credentials, never Slack's, and its keys over the inherited ones.
                    options.BotToken = "";
                    options.AppToken = "";
                    options.SigningSecret = "";
                    first.Bind(options);
                    options.ConfigPath = settings.ConfigPath;
                    options.AppId = settings.AppId;
                    options.AgentUuid = settings.AgentUuid;
                }
                // One app refused is only that app down when others serve; alone, it is the bridge's configuration error.
                options.RefusalStopsHost = entries.Count == 1;
            })
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
        services.AddSingleton(SlackApp.FromServices);

        // Every further app: its own client (token, base URL, pipeline), pacer, sender, ingestor and receiving.
        foreach (var entry in entries.Skip(1))
        {
            var app = SlackAppEntries.Bind(section, entry);
            app.Instance = app.AppId;
            app.RefusalStopsHost = false;
            var key = app.Instance;
            services.AddHttpClient(SlackApp.HttpClientName(key), http =>
                {
                    http.BaseAddress = new Uri(app.ApiBaseUrl.TrimEnd('/') + "/");
                    http.Timeout = Timeout.InfiniteTimeSpan;
                })
                .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
                .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
                .AddResilienceHandler(SlackResilience.PipelineName + ":" + key, (pipeline, context) => SlackResilience.Configure(pipeline, context.ServiceProvider, app));
            services.AddKeyedSingleton(key, (sp, _) => SlackApp.Create(sp, app));
            services.AddSingleton(sp => sp.GetRequiredKeyedService<SlackApp>(key));
            services.AddSingleton<IReplySender>(sp => sp.GetRequiredKeyedService<SlackApp>(key).Sender);
            services.AddSingleton<IDisplayNameResolver>(sp => sp.GetRequiredKeyedService<SlackApp>(key).Users);
            services.AddSingleton(sp => sp.GetRequiredKeyedService<SlackApp>(key).CreateCheck());
            services.AddSingleton(sp => sp.GetRequiredKeyedService<SlackApp>(key).CreateQuoteSource());
            services.AddSingleton(sp => sp.GetRequiredKeyedService<SlackApp>(key).CreateReceiver(sp));
        }
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
        // POST /slack/events/{appId} and /slack/commands/{appId}: each app of an Events API deployment at its own
        // paths, checked against its own signing secret.
        if (endpoints.ServiceProvider.GetServices<SlackApp>().Any(a => a.UsesEventsApi))
        {
            endpoints.MapPost(SlackEventsEndpoint.Path + "/{appId}", static async context =>
            {
                var result = AppOf(context)?.Events is { } events ? await events.HandleAsync(context) : Results.NotFound();
                await result.ExecuteAsync(context);
            });
            endpoints.MapPost(SlackCommandsEndpoint.Path + "/{appId}", static async context =>
            {
                var result = AppOf(context)?.Commands is { } commands ? await commands.HandleAsync(context) : Results.NotFound();
                await result.ExecuteAsync(context);
            });
        }
        return endpoints;
    }

    /// <summary>The Events API app whose <c>Slack:Apps:N:AppId</c> the request's path names.</summary>
    private static SlackApp? AppOf(HttpContext context)
    {
        var appId = context.Request.RouteValues["appId"] as string ?? "";
        return context.RequestServices.GetServices<SlackApp>().FirstOrDefault(a =>
            a.UsesEventsApi && a.Options.Value.AppId.Length > 0 && a.Options.Value.AppId == appId);
    }
}
