using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.Messaging;
using Telegram.Bot;
using Telegram.Bot.Types;

namespace Osvi.Bridge.Adapters.Telegram;

/// <summary>Registers the Telegram channel when <c>Telegram:BotToken</c> is set.</summary>
public static partial class TelegramServiceCollectionExtensions
{
    public const string HttpClientName = "telegram";
    public const string WebhookPath = "/telegram/webhook";
    private const long MaxWebhookBodyBytes = 1024 * 1024;
    public const string SecretHeader = "X-Telegram-Bot-Api-Secret-Token";

    public static IServiceCollection AddTelegramChannel(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(TelegramOptions.Section);
        var entries = TelegramBotEntries.Sections(configuration);
        if (entries.Count == 0)
        {
            return services;
        }
        var first = entries[0];

        services.AddOptions<TelegramOptions>()
            .Configure(options =>
            {
                TelegramBotEntries.Bind(options, section, first, options.BindingErrors);
                // One bot refused is only that bot down when others serve; alone, it is the bridge's configuration error.
                options.RefusalStopsHost = entries.Count == 1;
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<TelegramOptions>, TelegramOptionsValidator>();
        services.AddSingleton<IValidateOptions<TelegramOptions>, TelegramBindingValidator>();

        services.AddHttpClient(HttpClientName, (sp, http) =>
            {
                // Longer than the long-poll wait, or every quiet poll would end as a timeout error; and longer
                // than the poll watchdog's limit, which abandons a hung poll with its own log line and metric.
                var telegram = sp.GetRequiredService<IOptions<TelegramOptions>>().Value;
                var margin = telegram.PollWatchdogGrace + TimeSpan.FromSeconds(5);
                http.Timeout = telegram.PollingTimeout + (margin > TimeSpan.FromSeconds(20) ? margin : TimeSpan.FromSeconds(20));
            })
            .AddTypedClient<ITelegramBotClient>((http, sp) =>
            {
                var options = sp.GetRequiredService<IOptions<TelegramOptions>>().Value;
                // RetryThreshold 0: the client must not sleep on 429 itself; the sender paces and waits.
                return new TelegramBotClient(new TelegramBotClientOptions(options.BotToken, options.ApiBaseUrl) { RetryThreshold = 0 }, http);
            });

        services.AddSingleton(sp => new Lazy<ITelegramBotClient>(sp.GetRequiredService<ITelegramBotClient>));
        services.AddSingleton(sp => new TelegramUpdateParser(
            sp.GetRequiredService<IOptions<TelegramOptions>>().Value, sp.GetRequiredService<IOptions<BridgeOptions>>().Value));
        services.AddSingleton<TelegramBotIdentityProvider>();
        services.AddSingleton<TelegramSendPacer>();
        services.AddSingleton<TelegramCommandMenu>();
        services.AddSingleton<TelegramReplySender>();
        services.AddSingleton<IReplySender>(sp => sp.GetRequiredService<TelegramReplySender>());
        services.AddSingleton<TelegramUpdateIngress>();
        services.AddSingleton<IDependencyCheck, TelegramDependencyCheck>();
        services.AddSingleton(TelegramBot.FromServices);
        services.AddSingleton<IHotPathRehearsal, TelegramHotPathRehearsal>();

        if (IsWebhookMode(section, first))
        {
            services.AddHostedService<TelegramWebhookRegistrar>();
        }
        else
        {
            services.AddHostedService<TelegramPoller>();
        }

        // Every further bot: its own client, pacer, sender, ingress and poller (or webhook), as a bot on its own would have.
        foreach (var entry in entries.Skip(1))
        {
            var settings = new TelegramOptions();
            TelegramBotEntries.Bind(settings, section, entry, settings.BindingErrors);
            settings.Instance = TelegramBotEntries.BotIdOf(settings.BotToken);
            settings.RefusalStopsHost = false;
            var key = settings.Instance;
            services.AddKeyedSingleton(key, (sp, _) => TelegramBot.Create(sp, settings));
            services.AddSingleton(sp => sp.GetRequiredKeyedService<TelegramBot>(key));
            services.AddSingleton<IReplySender>(sp => sp.GetRequiredKeyedService<TelegramBot>(key).Sender);
            services.AddSingleton(sp => sp.GetRequiredKeyedService<TelegramBot>(key).CreateCheck());
            services.AddSingleton(sp => sp.GetRequiredKeyedService<TelegramBot>(key).CreateReceiver(sp));
        }
        return services;
    }

    public static IEndpointRouteBuilder MapTelegramEndpoints(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<TelegramUpdateIngress>() is null
            || !endpoints.ServiceProvider.GetServices<TelegramBot>().Any(b => b.Options.Value.Mode == TelegramMode.Webhook))
        {
            return endpoints;
        }
        // A plain RequestDelegate: minimal-API parameter binding would compile expression trees at start-up.
        if (endpoints.ServiceProvider.GetRequiredService<IOptions<TelegramOptions>>().Value.Mode == TelegramMode.Webhook)
        {
            endpoints.MapPost(WebhookPath, static async context =>
            {
                var services = context.RequestServices;
                var result = await ReceiveWebhookAsync(context, services.GetRequiredService<TelegramUpdateIngress>(),
                    services.GetRequiredService<TelegramBotIdentityProvider>(), services.GetRequiredService<IOptions<TelegramOptions>>());
                await result.ExecuteAsync(context);
            });
        }
        // POST /telegram/webhook/{botId}: each bot of a webhook deployment at its own path, checked against its own secret.
        endpoints.MapPost(WebhookPath + "/{botId}", static async context =>
        {
            var botId = context.Request.RouteValues["botId"] as string ?? "";
            var bot = context.RequestServices.GetServices<TelegramBot>().FirstOrDefault(b =>
                b.Options.Value.Mode == TelegramMode.Webhook && TelegramBotEntries.BotIdOf(b.Options.Value.BotToken) == botId);
            var result = bot is null
                ? Results.NotFound()
                : await ReceiveWebhookAsync(context, bot.Ingress, bot.Identity, bot.Options);
            await result.ExecuteAsync(context);
        });
        return endpoints;
    }

    private static bool IsWebhookMode(IConfigurationSection section, IConfigurationSection entry) =>
        Enum.TryParse<TelegramMode>(entry["Mode"] ?? section["Mode"], ignoreCase: true, out var mode) && mode == TelegramMode.Webhook;

    /// <summary>
    /// Answers 200 as soon as the inbox holds the update (never waiting for the agent), 401 without
    /// the secret, 400 for a body that is not an update, 503 while we cannot take it (Telegram retries).
    /// </summary>
    private static async Task<IResult> ReceiveWebhookAsync(HttpContext context, TelegramUpdateIngress ingress,
        TelegramBotIdentityProvider identity, IOptions<TelegramOptions> options)
    {
        if (!SecretMatches(context.Request.Headers[SecretHeader].ToString(), options.Value.WebhookSecret))
        {
            return Results.Unauthorized();
        }
        if (identity.Current is not { } bot)
        {
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }

        // Real updates are a few kilobytes; a huge body is refused (413) before it is buffered.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxWebhookBodyBytes;
        }
        Update? update;
        try
        {
            update = await JsonSerializer.DeserializeAsync<Update>(context.Request.Body, JsonBotAPI.Options, context.RequestAborted);
        }
        catch (JsonException)
        {
            return Results.BadRequest();
        }
        catch (BadHttpRequestException ex)
        {
            // 413 for a huge body, 408 for one sent too slowly (Kestrel's minimum data rate cuts it):
            // the client's problem, not a fault of ours, so one quiet line and no stack trace.
            LogBadRequest(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TelegramUpdateIngress)), ex.StatusCode, ex.Message);
            return Results.StatusCode(ex.StatusCode);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            LogClientGone(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TelegramUpdateIngress)));
            return Results.Empty;
        }
        if (update is null)
        {
            return Results.BadRequest();
        }

        try
        {
            await ingress.HandleAsync(update, bot, context.RequestAborted);
        }
        catch (InboxClosedException)
        {
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }
        return Results.Ok();
    }

    /// <summary>Compares hashes so that neither the content nor the length of the secret leaks through timing.</summary>
    private static bool SecretMatches(string presented, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));

    [LoggerMessage(Level = LogLevel.Debug, Message = "Telegram webhook request refused with {StatusCode}: {Reason}")]
    private static partial void LogBadRequest(ILogger logger, int statusCode, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Telegram webhook client disconnected before its body was read")]
    private static partial void LogClientGone(ILogger logger);
}
