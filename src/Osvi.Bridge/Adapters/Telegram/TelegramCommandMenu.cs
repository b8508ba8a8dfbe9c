using Microsoft.Extensions.Options;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;

namespace Osvi.Bridge.Adapters.Telegram;

/// <summary>
/// The bot's command menu (the "/" button): <c>/start</c>, <c>/reset</c> and <c>/help</c> with the descriptions
/// from configuration, set with <c>setMyCommands</c> for the default scope (private chats) and for all
/// groups, once at start (<c>Telegram:CommandMenu</c>). A refusal is logged and costs nothing else: the
/// commands work without a menu.
/// </summary>
public sealed partial class TelegramCommandMenu(ITelegramBotClient bot, IOptions<TelegramOptions> options, ILogger<TelegramCommandMenu> logger)
{
    public IReadOnlyList<BotCommand> Commands
    {
        get
        {
            var o = options.Value;
            return
            [
                new BotCommand { Command = "start", Description = o.StartCommandDescription },
                new BotCommand { Command = "reset", Description = o.ResetCommandDescription },
                new BotCommand { Command = "help", Description = o.HelpCommandDescription },
            ];
        }
    }

    public async Task SetAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.CommandMenu)
        {
            return;
        }
        try
        {
            var commands = Commands;
            await bot.SetMyCommands(commands, new BotCommandScopeDefault(), cancellationToken: cancellationToken);
            await bot.SetMyCommands(commands, new BotCommandScopeAllGroupChats(), cancellationToken: cancellationToken);
            LogSet(logger, commands.Count);
        }
        catch (RequestException ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogFailed(logger, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Telegram command menu set ({Count} commands, private chats and groups)")]
    private static partial void LogSet(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram refused the command menu ({Reason}); the commands still work, the menu is not shown")]
    private static partial void LogFailed(ILogger logger, string reason);
}
