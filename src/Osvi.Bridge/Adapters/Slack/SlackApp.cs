using Microsoft.Extensions.Options;
using Osvi.Bridge.Hosting;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// One configured Slack app with its own Web API client (token, base URL, resilience pipeline), identity,
/// pacing, sender, ingestor and receiving (Socket Mode, or its Events API endpoint with its signing secret).
/// The default app is made of the registered singletons, as a single-app bridge always was; an app of
/// <c>Slack:Apps</c> gets its own set, built here.
/// </summary>
public sealed class SlackApp
{
    private SlackApp(IOptions<SlackOptions> options, SlackApiClient api, SlackBotIdentityHolder identity, SlackReplySender sender,
        SlackUserDirectory users, SlackEventIngestor ingestor, SlackEventsEndpoint? events)
    {
        Options = options;
        Api = api;
        Identity = identity;
        Sender = sender;
        Users = users;
        Ingestor = ingestor;
        Events = events;
    }

    /// <summary>The named HTTP client of an app of <c>Slack:Apps</c>.</summary>
    public static string HttpClientName(string instance) => "slack:" + instance;

    public IOptions<SlackOptions> Options { get; }

    public SlackApiClient Api { get; }

    public SlackBotIdentityHolder Identity { get; }

    public SlackReplySender Sender { get; }

    public SlackUserDirectory Users { get; }

    public SlackEventIngestor Ingestor { get; }

    /// <summary>The app's <c>POST /slack/events…</c> endpoint in Events API mode; null in Socket Mode.</summary>
    public SlackEventsEndpoint? Events { get; }

    /// <summary>The default app, from the registered singletons.</summary>
    internal static SlackApp FromServices(IServiceProvider services) => new(
        services.GetRequiredService<IOptions<SlackOptions>>(),
        services.GetRequiredService<SlackApiClient>(),
        services.GetRequiredService<SlackBotIdentityHolder>(),
        services.GetRequiredService<SlackReplySender>(),
        services.GetRequiredService<SlackUserDirectory>(),
        services.GetRequiredService<SlackEventIngestor>(),
        services.GetService<SlackEventsEndpoint>());

    /// <summary>An app of <c>Slack:Apps</c>: its own client and pacer, on the shared inbox and stores.</summary>
    internal static SlackApp Create(IServiceProvider services, SlackOptions settings)
    {
        var options = Microsoft.Extensions.Options.Options.Create(settings);
        var http = services.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName(settings.Instance));
        var api = ActivatorUtilities.CreateInstance<SlackApiClient>(services, http, options);
        var identity = new SlackBotIdentityHolder();
        var pacer = ActivatorUtilities.CreateInstance<SlackPostPacer>(services, options);
        var sender = ActivatorUtilities.CreateInstance<SlackReplySender>(services, api, pacer, options);
        var users = ActivatorUtilities.CreateInstance<SlackUserDirectory>(services, api, options);
        var ingestor = ActivatorUtilities.CreateInstance<SlackEventIngestor>(services, identity, sender, options);
        var events = settings.Mode == SlackReceiveMode.EventsApi
            ? ActivatorUtilities.CreateInstance<SlackEventsEndpoint>(services,
                new SlackSignatureVerifier(settings.SigningSecret, services.GetRequiredService<TimeProvider>()), ingestor)
            : null;
        return new SlackApp(options, api, identity, sender, users, ingestor, events);
    }

    /// <summary>The app's start-up (<c>auth.test</c>) and, in Socket Mode, its connections.</summary>
    internal IHostedService CreateReceiver(IServiceProvider services)
    {
        var socketMode = ActivatorUtilities.CreateInstance<SlackSocketModeClient>(services, Api, Ingestor, Options);
        return ActivatorUtilities.CreateInstance<SlackChannelService>(services, Api, Identity, socketMode, Options);
    }

    internal IDependencyCheck CreateCheck() => new SlackDependencyCheck(Api, Options);
}
