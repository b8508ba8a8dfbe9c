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
    // The ingestor needs the inbox, whose relay needs every sender, this app's included: it is made on first
    // use, so that building the app for its sender never waits for the inbox that waits for the sender.
    private readonly Lazy<SlackEventIngestor> _ingestor;
    private readonly Lazy<SlackEventsEndpoint?> _events;
    private readonly Lazy<SlackCommandsEndpoint?> _commands;

    private SlackApp(IOptions<SlackOptions> options, SlackApiClient api, SlackBotIdentityHolder identity, SlackReplySender sender,
        SlackUserDirectory users, Func<SlackEventIngestor> ingestor, Func<SlackEventIngestor, SlackEventsEndpoint?> events,
        Func<SlackEventIngestor, SlackCommandsEndpoint?> commands)
    {
        Options = options;
        Api = api;
        Identity = identity;
        Sender = sender;
        Users = users;
        _ingestor = new Lazy<SlackEventIngestor>(ingestor);
        _events = new Lazy<SlackEventsEndpoint?>(() => events(_ingestor.Value));
        _commands = new Lazy<SlackCommandsEndpoint?>(() => commands(_ingestor.Value));
    }

    /// <summary>The named HTTP client of an app of <c>Slack:Apps</c>.</summary>
    public static string HttpClientName(string instance) => "slack:" + instance;

    public IOptions<SlackOptions> Options { get; }

    public SlackApiClient Api { get; }

    public SlackBotIdentityHolder Identity { get; }

    public SlackReplySender Sender { get; }

    public SlackUserDirectory Users { get; }

    public SlackEventIngestor Ingestor => _ingestor.Value;

    /// <summary>Whether the app receives over the Events API (<see cref="Events"/> is set then).</summary>
    public bool UsesEventsApi => Options.Value.Mode == SlackReceiveMode.EventsApi;

    /// <summary>The app's <c>POST /slack/events…</c> endpoint in Events API mode; null in Socket Mode.</summary>
    public SlackEventsEndpoint? Events => _events.Value;

    /// <summary>The app's <c>POST /slack/commands…</c> endpoint (its slash command) in Events API mode; null in Socket Mode.</summary>
    public SlackCommandsEndpoint? Commands => _commands.Value;

    /// <summary>The default app, from the registered singletons.</summary>
    internal static SlackApp FromServices(IServiceProvider services) => new(
        services.GetRequiredService<IOptions<SlackOptions>>(),
        services.GetRequiredService<SlackApiClient>(),
        services.GetRequiredService<SlackBotIdentityHolder>(),
        services.GetRequiredService<SlackReplySender>(),
        services.GetRequiredService<SlackUserDirectory>(),
        services.GetRequiredService<SlackEventIngestor>,
        _ => services.GetService<SlackEventsEndpoint>(),
        _ => services.GetService<SlackCommandsEndpoint>());

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
        // Only an Events API app has a signing secret (and its endpoints).
        var verifier = new Lazy<SlackSignatureVerifier>(() => new SlackSignatureVerifier(settings.SigningSecret, services.GetRequiredService<TimeProvider>()));
        return new SlackApp(options, api, identity, sender, users,
            () => ActivatorUtilities.CreateInstance<SlackEventIngestor>(services, identity, sender, options),
            ingestor => settings.Mode == SlackReceiveMode.EventsApi
                ? ActivatorUtilities.CreateInstance<SlackEventsEndpoint>(services, verifier.Value, ingestor)
                : null,
            ingestor => settings.Mode == SlackReceiveMode.EventsApi
                ? ActivatorUtilities.CreateInstance<SlackCommandsEndpoint>(services, verifier.Value, ingestor)
                : null);
    }

    /// <summary>The app's start-up (<c>auth.test</c>) and, in Socket Mode, its connections.</summary>
    internal IHostedService CreateReceiver(IServiceProvider services)
    {
        var socketMode = ActivatorUtilities.CreateInstance<SlackSocketModeClient>(services, Api, Ingestor, Options);
        return ActivatorUtilities.CreateInstance<SlackChannelService>(services, Api, Identity, socketMode, Options);
    }

    internal IDependencyCheck CreateCheck() => new SlackDependencyCheck(Api, Options);

    /// <summary>The app's thread-parent look-up, through its own client, as its own bot user.</summary>
    internal Messaging.IQuoteSource CreateQuoteSource() => new SlackThreadParentQuote(Api, Identity, Options);
}
