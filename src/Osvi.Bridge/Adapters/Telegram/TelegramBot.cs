using Microsoft.Extensions.Options;
using Osvi.Bridge.Hosting;
using Telegram.Bot;

namespace Osvi.Bridge.Adapters.Telegram;

/// <summary>
/// One configured bot with its own client, identity, pacing, sender and ingress, so that bots never share
/// a token, a rate budget or a reply path. The default bot is made of the registered singletons (as a
/// single-bot bridge always was); a bot of <c>Telegram:Bots</c> gets its own set, built here.
/// </summary>
public sealed class TelegramBot
{
    // The ingress needs the inbox, whose relay needs every sender, this bot's included: it is made on first
    // use, so that building the bot for its sender never waits for the inbox that waits for the sender.
    private readonly Lazy<TelegramUpdateIngress> _ingress;

    private TelegramBot(IOptions<TelegramOptions> options, ITelegramBotClient client, TelegramBotIdentityProvider identity,
        TelegramReplySender sender, Func<TelegramUpdateIngress> ingress)
    {
        Options = options;
        Client = client;
        Identity = identity;
        Sender = sender;
        _ingress = new Lazy<TelegramUpdateIngress>(ingress);
    }

    public IOptions<TelegramOptions> Options { get; }

    public ITelegramBotClient Client { get; }

    public TelegramBotIdentityProvider Identity { get; }

    public TelegramReplySender Sender { get; }

    public TelegramUpdateIngress Ingress => _ingress.Value;

    /// <summary>Empty for the default bot, else its bot id.</summary>
    public string Instance => Options.Value.Instance;

    /// <summary>The default bot, from the registered singletons.</summary>
    internal static TelegramBot FromServices(IServiceProvider services) => new(
        services.GetRequiredService<IOptions<TelegramOptions>>(),
        services.GetRequiredService<ITelegramBotClient>(),
        services.GetRequiredService<TelegramBotIdentityProvider>(),
        services.GetRequiredService<TelegramReplySender>(),
        services.GetRequiredService<TelegramUpdateIngress>);

    /// <summary>A bot of <c>Telegram:Bots</c>: its own client and pacer, on the shared inbox and stores.</summary>
    internal static TelegramBot Create(IServiceProvider services, TelegramOptions settings)
    {
        var options = Microsoft.Extensions.Options.Options.Create(settings);
        var http = services.GetRequiredService<IHttpClientFactory>().CreateClient(TelegramServiceCollectionExtensions.HttpClientName);
        // Longer than the long-poll wait, or every quiet poll would end as a timeout error.
        http.Timeout = settings.PollingTimeout + TimeSpan.FromSeconds(20);
        // RetryThreshold 0: the client must not sleep on 429 itself; the sender paces and waits.
        ITelegramBotClient client = new TelegramBotClient(new TelegramBotClientOptions(settings.BotToken, settings.ApiBaseUrl) { RetryThreshold = 0 }, http);
        var identity = ActivatorUtilities.CreateInstance<TelegramBotIdentityProvider>(services, client, options);
        var pacer = ActivatorUtilities.CreateInstance<TelegramSendPacer>(services, options);
        var sender = ActivatorUtilities.CreateInstance<TelegramReplySender>(services, new Lazy<ITelegramBotClient>(client), pacer, options);
        var parser = new TelegramUpdateParser(settings, services.GetRequiredService<IOptions<BridgeOptions>>().Value);
        return new TelegramBot(options, client, identity, sender,
            () => ActivatorUtilities.CreateInstance<TelegramUpdateIngress>(services, parser, sender, options));
    }

    /// <summary>The bot's receiving loop: its poller, or its webhook registration.</summary>
    internal IHostedService CreateReceiver(IServiceProvider services)
    {
        // The bot's own command menu, set with its own token.
        var menu = ActivatorUtilities.CreateInstance<TelegramCommandMenu>(services, Client, Options);
        return Options.Value.Mode == TelegramMode.Webhook
            ? ActivatorUtilities.CreateInstance<TelegramWebhookRegistrar>(services, Client, Identity, Options, menu)
            : ActivatorUtilities.CreateInstance<TelegramPoller>(services, Client, Identity, Ingress, Options, menu);
    }

    internal IDependencyCheck CreateCheck() => new TelegramDependencyCheck(Client, Options);
}
