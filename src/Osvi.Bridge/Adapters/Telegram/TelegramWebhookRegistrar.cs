using Microsoft.Extensions.Options;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.Messaging;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types.Enums;

namespace Osvi.Bridge.Adapters.Telegram;

/// <summary>
/// Webhook mode: at start, <c>getMe</c> and <c>setWebhook</c> with our URL and secret token; retried
/// in the background if Telegram is unreachable. Telegram refusing the URL or the token stops the start.
/// </summary>
public sealed partial class TelegramWebhookRegistrar(
    ITelegramBotClient bot,
    TelegramBotIdentityProvider identity,
    ChannelStatusBoard status,
    IOptions<TelegramOptions> options,
    TimeProvider time,
    TelegramCommandMenu commandMenu,
    ILogger<TelegramWebhookRegistrar> logger,
    StartupFailure startupFailure) : BackgroundService
{
    private static readonly UpdateType[] AllowedUpdates = TelegramUpdateParser.HandledUpdates;
    private readonly TelegramOptions _options = options.Value;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Registration runs in ExecuteAsync, in the background: the listener and /healthz must not
        // wait for Telegram; /readyz says "starting" until it worked.
        status.Report(_options.ChannelName, false, "starting");
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.Zero;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RegisterAsync(stoppingToken);
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (BridgeConfigurationException ex)
            {
                // Telegram refuses the token or the URL: retrying will not help, stop with exit code 2.
                status.Report(_options.ChannelName, false, ex.Message);
                if (_options.RefusalStopsHost)
                {
                    startupFailure.Report(ex);
                }
                else
                {
                    LogBotRefused(logger, _options.ChannelName, ex.Message);
                }
                return;
            }
            catch (RequestException ex)
            {
                delay = delay < _options.PollingRetryDelay ? _options.PollingRetryDelay
                    : delay * 2 > _options.PollingMaxRetryDelay ? _options.PollingMaxRetryDelay : delay * 2;
                LogRegisterFailed(logger, ex.Message, delay);
                status.Report(_options.ChannelName, false, "setWebhook failed: " + ex.Message);
            }
            // A zero delay still yields, so a failing call can never become a hot loop.
            var floor = delay < TimeSpan.FromMilliseconds(50) ? TimeSpan.FromMilliseconds(50) : delay;
            await Task.Delay(floor, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        var me = await identity.EnsureAsync(cancellationToken);
        try
        {
            await bot.SetWebhook(_options.WebhookUrl, allowedUpdates: AllowedUpdates, secretToken: _options.WebhookSecret,
                cancellationToken: cancellationToken);
        }
        catch (ApiRequestException ex) when (ex.ErrorCode == 400)
        {
            throw new BridgeConfigurationException($"Telegram refuses {_options.ConfigPath}:WebhookUrl ({_options.WebhookUrl}): {ex.Message}", ex);
        }
        await commandMenu.SetAsync(cancellationToken);
        status.Report(_options.ChannelName, true, $"webhook set for @{me.Username}");
        LogRegistered(logger, me.Username, _options.WebhookUrl);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Channel} stays down, the other bots serve on: {Reason}")]
    private static partial void LogBotRefused(ILogger logger, string channel, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Telegram webhook for @{Username} set to {WebhookUrl}")]
    private static partial void LogRegistered(ILogger logger, string username, string webhookUrl);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram setWebhook failed ({Reason}); retrying in {Delay}")]
    private static partial void LogRegisterFailed(ILogger logger, string reason, TimeSpan delay);
}
