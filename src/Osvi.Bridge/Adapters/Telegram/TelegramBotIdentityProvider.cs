using Microsoft.Extensions.Options;
using Osvi.Bridge.Hosting;
using Telegram.Bot;
using Telegram.Bot.Exceptions;

namespace Osvi.Bridge.Adapters.Telegram;

/// <summary>
/// Asks Telegram who we are (<c>getMe</c>) and keeps the answer for the parser. A token Telegram
/// refuses is a configuration error; an unreachable Telegram is retried by the caller (in the background).
/// </summary>
public sealed partial class TelegramBotIdentityProvider(ITelegramBotClient bot, ILogger<TelegramBotIdentityProvider> logger,
    IOptions<TelegramOptions>? options = null)
{
    private TelegramBotIdentity? _current;

    /// <summary>The bot, once <c>getMe</c> answered; null before.</summary>
    public TelegramBotIdentity? Current => Volatile.Read(ref _current);

    /// <summary>Loads the identity unless known. Throws <see cref="BridgeConfigurationException"/> for a refused token.</summary>
    public async Task<TelegramBotIdentity> EnsureAsync(CancellationToken cancellationToken)
    {
        if (Current is { } known)
        {
            return known;
        }
        try
        {
            var me = await bot.GetMe(cancellationToken);
            var identity = new TelegramBotIdentity(me.Id, me.Username ?? "");
            Volatile.Write(ref _current, identity);
            LogIdentified(logger, identity.Username, identity.Id, me.CanReadAllGroupMessages);
            return identity;
        }
        catch (ApiRequestException ex) when (ex.ErrorCode is 401 or 404)
        {
            var key = options?.Value.ConfigPath ?? TelegramOptions.Section;
            throw new BridgeConfigurationException(
                $"Telegram refuses {key}:BotToken ({key.Replace(":", "__", StringComparison.Ordinal)}__BotToken): {ex.ErrorCode} {ex.Message}. Check the token with @BotFather.", ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Telegram bot @{Username} ({BotId}) connected; reads all group messages: {ReadsAll}")]
    private static partial void LogIdentified(ILogger logger, string username, long botId, bool readsAll);
}
