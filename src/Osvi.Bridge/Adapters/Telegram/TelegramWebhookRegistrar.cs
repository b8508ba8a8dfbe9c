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
    ILogger<TelegramWebhookRegistrar> logger) : BackgroundService
{
    private static readonly UpdateType[] AllowedUpdates = [UpdateType.Message];
    private readonly TelegramOptions _options = options.Value;
    private bool _registered;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        status.Report(TelegramUpdateParser.Platform, false, "starting");
        try
        {
            await RegisterAsync(cancellationToken);
        }
        catch (RequestException ex)
        {
            LogRegisterFailed(logger, ex, ex.Message, _options.PollingRetryDelay);
        }
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = _options.PollingRetryDelay;
        while (!_registered && !stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(delay, time, stoppingToken);
                await RegisterAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is RequestException or BridgeConfigurationException)
            {
                delay = delay * 2 > _options.PollingMaxRetryDelay ? _options.PollingMaxRetryDelay : delay * 2;
                LogRegisterFailed(logger, ex, ex.Message, delay);
                status.Report(TelegramUpdateParser.Platform, false, "setWebhook failed: " + ex.Message);
            }
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
            throw new BridgeConfigurationException($"Telegram refuses Telegram:WebhookUrl ({_options.WebhookUrl}): {ex.Message}", ex);
        }
        _registered = true;
        status.Report(TelegramUpdateParser.Platform, true, $"webhook set for @{me.Username}");
        LogRegistered(logger, me.Username, _options.WebhookUrl);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Telegram webhook for @{Username} set to {WebhookUrl}")]
    private static partial void LogRegistered(ILogger logger, string username, string webhookUrl);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram setWebhook failed ({Reason}); retrying in {Delay}")]
    private static partial void LogRegisterFailed(ILogger logger, Exception exception, string reason, TimeSpan delay);
}
