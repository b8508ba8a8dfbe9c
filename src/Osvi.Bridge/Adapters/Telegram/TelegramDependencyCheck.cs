using Microsoft.Extensions.Options;
using Osvi.Bridge.Hosting;
using Telegram.Bot;
using Telegram.Bot.Exceptions;

namespace Osvi.Bridge.Adapters.Telegram;

/// <summary><c>check</c>: Telegram accepts the bot token (<c>getMe</c>) and reports the webhook state.</summary>
public sealed class TelegramDependencyCheck(ITelegramBotClient bot, IOptions<TelegramOptions> options) : IDependencyCheck
{
    /// <summary>One line per bot: the default bot as always, a bot of <c>Telegram:Bots</c> by its key.</summary>
    public string Name => options.Value.Instance.Length == 0 ? "telegram getMe" : $"telegram getMe ({options.Value.ConfigPath})";

    public async Task<DependencyCheckResult> RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            var me = await bot.GetMe(cancellationToken);
            var webhook = await bot.GetWebhookInfo(cancellationToken);
            var mode = options.Value.Mode;
            var state = string.IsNullOrEmpty(webhook.Url) ? "no webhook set" : $"webhook set ({webhook.PendingUpdateCount} pending)";
            return DependencyCheckResult.Pass($"@{me.Username} ({me.Id}), mode {mode}, {state}");
        }
        catch (ApiRequestException ex)
        {
            return DependencyCheckResult.Fail($"Telegram refused: {ex.ErrorCode} {ex.Message} (check {options.Value.ConfigPath}:BotToken)");
        }
        catch (RequestException ex)
        {
            return DependencyCheckResult.Fail($"Telegram unreachable at {options.Value.ApiBaseUrl}: {ex.Message}");
        }
    }
}
