using System.Globalization;
using System.Text;
using Osvi.Bridge.Messaging;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace Osvi.Bridge.Adapters.Telegram;

/// <summary>The bot as <c>getMe</c> described it: needed to recognise mentions, replies and commands addressed to it.</summary>
public sealed record TelegramBotIdentity(long Id, string Username);

/// <summary>What to do with one Telegram update.</summary>
public abstract record TelegramUpdateDecision;

/// <summary>Hand the message to the inbox for the agent.</summary>
public sealed record TelegramForward(InboundMessage Message) : TelegramUpdateDecision;

/// <summary>Answer directly with a notice and tell the agent nothing.</summary>
public sealed record TelegramNotice(TelegramNoticeKind Kind, long ChatId, ReplyTarget Target, string? Text = null) : TelegramUpdateDecision;

/// <summary>The user pressed Stop on one of the bot's drafts: the turn's answer is not to be sent.</summary>
public sealed record TelegramStop(long ChatId, long DraftId) : TelegramUpdateDecision;

/// <summary>Drop the update; the reason is for debug logs.</summary>
public sealed record TelegramIgnore(string Reason) : TelegramUpdateDecision;

/// <summary>Why the adapter answers by itself.</summary>
public enum TelegramNoticeKind
{
    /// <summary>A sticker, voice, photo without caption, …: the agent reads text only.</summary>
    NonText,

    /// <summary>The chat or user is not on the allow-lists.</summary>
    NotAllowed,

    /// <summary>The text is longer than <c>Bridge:MaxInboundLength</c>; the notice carries the reply.</summary>
    TooLong,
}

/// <summary>
/// Turns a Telegram update into a decision: forward to the agent (with the conversation key, reply
/// target and text stripped of the bot's mention), answer with a notice, or ignore. In groups the
/// bot only reacts when addressed: an <c>@mention</c>, a reply to one of its messages, or a command
/// for it (<c>/cmd@bot</c> or a bare <c>/cmd</c>). Pure: no I/O, so every rule is unit-tested.
/// </summary>
public sealed class TelegramUpdateParser(TelegramOptions options, BridgeOptions? bridge = null)
{
    private readonly BridgeOptions _bridge = bridge ?? new BridgeOptions();

    public const string Platform = "telegram";

    /// <summary>
    /// Every update type the bridge handles, asked for explicitly in <c>getUpdates</c> and <c>setWebhook</c>:
    /// an empty list would leave out what Telegram does not send by default.
    /// </summary>
    public static readonly UpdateType[] HandledUpdates = [UpdateType.Message, UpdateType.StoppedMessageGeneration];

    public TelegramUpdateDecision Parse(Update update, TelegramBotIdentity bot)
    {
        ArgumentNullException.ThrowIfNull(update);
        ArgumentNullException.ThrowIfNull(bot);
        if (update.StoppedMessageGeneration is { Chat: { } stoppedIn } stopped)
        {
            return new TelegramStop(stoppedIn.Id, stopped.DraftId);
        }
        if (update.Message is not { } message)
        {
            return new TelegramIgnore(update.EditedMessage is not null ? "edited message" : "not a new message");
        }
        if (message.From is not { } from || message.Chat is not { } chat)
        {
            return new TelegramIgnore("no sender");
        }
        if (from.IsBot)
        {
            return new TelegramIgnore("sent by a bot");
        }
        if (chat.Type is not (ChatType.Private or ChatType.Group or ChatType.Supergroup))
        {
            return new TelegramIgnore("not a private chat or group");
        }

        var isGroup = chat.Type is not ChatType.Private;
        var text = message.Text ?? message.Caption;
        var entities = (message.Text is not null ? message.Entities : message.CaptionEntities) ?? [];
        if (isGroup)
        {
            var addressed = Address(text, entities, message, bot);
            if (addressed.Ignore is { } reason)
            {
                return new TelegramIgnore(reason);
            }
            text = addressed.Text;
        }

        // Echo the thread only for real topic messages: in plain groups message_thread_id names a reply chain.
        var threadId = message.IsTopicMessage ? message.MessageThreadId?.ToString(CultureInfo.InvariantCulture) : null;
        var chatId = chat.Id.ToString(CultureInfo.InvariantCulture);
        var target = new ReplyTarget(chatId, threadId, isGroup ? message.Id.ToString(CultureInfo.InvariantCulture) : null);

        if (!IsAllowed(chat.Id, from.Id))
        {
            return new TelegramNotice(TelegramNoticeKind.NotAllowed, chat.Id, target);
        }
        if (text is null)
        {
            return message.IsServiceMessage
                ? new TelegramIgnore("service message")
                : new TelegramNotice(TelegramNoticeKind.NonText, chat.Id, target);
        }
        text = text.Trim();
        if (text.Length == 0)
        {
            return new TelegramIgnore("no text besides the mention");
        }
        if (text.Length > _bridge.MaxInboundLength)
        {
            return new TelegramNotice(TelegramNoticeKind.TooLong, chat.Id, target, _bridge.TooLongMessage.Replace(
                "{MaxInboundLength}", _bridge.MaxInboundLength.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
        }

        var userId = from.Id.ToString(CultureInfo.InvariantCulture);
        var conversation = ConversationKey.Create(Platform,
            bot.Id.ToString(CultureInfo.InvariantCulture),
            chatId,
            threadId,
            isGroup && options.GroupSessionScope == TelegramGroupSessionScope.User ? "u" + userId : null);
        return new TelegramForward(new InboundMessage(Platform, conversation,
            update.Id.ToString(CultureInfo.InvariantCulture), userId, DisplayName(from), text, target)
        {
            Quote = QuoteOf(message, bot),
            Instance = options.Instance,
            AgentUuid = options.AgentUuid,
        });
    }

    /// <summary>
    /// What the user quoted: the part they selected (<c>quote</c>), else the text of the message they replied
    /// to, unless that is the bot's own (the agent knows what it said) or has no text (a topic's opening).
    /// </summary>
    private static string? QuoteOf(Message message, TelegramBotIdentity bot)
    {
        if (message.ReplyToMessage is { } replied && replied.From?.Id == bot.Id)
        {
            return null;
        }
        var quoted = message.Quote?.Text ?? message.ReplyToMessage?.Text ?? message.ReplyToMessage?.Caption;
        return string.IsNullOrWhiteSpace(quoted) ? null : quoted;
    }

    /// <summary>Allowed when both lists are empty, or the chat or the user is listed.</summary>
    private bool IsAllowed(long chatId, long userId) =>
        (options.AllowedChatIds.Count == 0 && options.AllowedUserIds.Count == 0)
        || options.AllowedChatIds.Contains(chatId)
        || options.AllowedUserIds.Contains(userId);

    private static string DisplayName(User user)
    {
        var name = $"{user.FirstName} {user.LastName}".Trim();
        return name.Length > 0 ? name : user.Username ?? user.Id.ToString(CultureInfo.InvariantCulture);
    }

    private static (string? Text, string? Ignore) Address(string? text, MessageEntity[] entities, Message message, TelegramBotIdentity bot)
    {
        var addressed = message.ReplyToMessage?.From?.Id == bot.Id;
        if (text is null)
        {
            return addressed ? (null, null) : (null, "not addressed to the bot");
        }

        var mention = "@" + bot.Username;
        var cuts = new List<(int Start, int Length)>();
        foreach (var entity in entities)
        {
            if (entity.Offset < 0 || entity.Length <= 0 || entity.Offset + entity.Length > text.Length)
            {
                continue;
            }
            var value = text.AsSpan(entity.Offset, entity.Length);
            if (entity.Type == MessageEntityType.BotCommand && entity.Offset == 0)
            {
                var at = value.IndexOf('@');
                if (at < 0)
                {
                    addressed = true;
                }
                else if (value[at..].Equals(mention, StringComparison.OrdinalIgnoreCase))
                {
                    addressed = true;
                    // "/reset@OsviBot" reaches the relay as "/reset".
                    cuts.Add((entity.Offset + at, entity.Length - at));
                }
                else
                {
                    return (null, "command for another bot");
                }
            }
            else if (entity.Type == MessageEntityType.Mention && value.Equals(mention, StringComparison.OrdinalIgnoreCase))
            {
                addressed = true;
                cuts.Add((entity.Offset, entity.Length));
            }
            else if (entity.Type == MessageEntityType.TextMention && entity.User?.Id == bot.Id)
            {
                addressed = true;
            }
        }
        if (!addressed)
        {
            return (null, "not addressed to the bot");
        }

        var stripped = new StringBuilder(text);
        var previousStart = int.MaxValue;
        foreach (var (start, length) in cuts.OrderByDescending(c => c.Start))
        {
            // Entities may overlap (a command that also reads as a mention): cut each character once.
            if (start + length > previousStart)
            {
                continue;
            }
            previousStart = start;
            var removeStart = start;
            var removeLength = length;
            // "ask @bot now" becomes "ask now", not "ask  now".
            if (removeStart > 0 && stripped[removeStart - 1] == ' ' && removeStart + removeLength < stripped.Length && stripped[removeStart + removeLength] == ' ')
            {
                removeLength++;
            }
            stripped.Remove(removeStart, removeLength);
        }
        return (stripped.ToString(), null);
    }
}
