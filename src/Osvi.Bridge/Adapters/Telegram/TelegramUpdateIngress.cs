using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Telemetry;
using Telegram.Bot.Types;

namespace Osvi.Bridge.Adapters.Telegram;

/// <summary>
/// The one door for updates, shared by polling and the webhook: parses an update, hands messages for
/// the agent to the inbox, and answers notices (non-text, not allowed) itself in the background so
/// that confirming the update never waits for a send. Returns once the update may be confirmed;
/// throws <see cref="InboxClosedException"/> when it may not.
/// </summary>
public sealed partial class TelegramUpdateIngress(
    IInbox inbox,
    TelegramUpdateParser parser,
    TelegramReplySender sender,
    IOptions<TelegramOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<TelegramUpdateIngress> logger)
{
    private readonly ConcurrentDictionary<long, byte> _refusedChats = new();

    public async Task HandleAsync(Update update, TelegramBotIdentity bot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(update);
        using var activity = BridgeMetrics.ActivitySource.StartActivity("telegram update");
        activity?.SetTag("telegram.update_id", update.Id);
        TelegramUpdateDecision decision;
        try
        {
            decision = parser.Parse(update, bot);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A malformed update must not stall the chat: confirm it and move on.
            LogUnreadable(logger, ex, update.Id);
            return;
        }

        switch (decision)
        {
            case TelegramForward forward:
                var receipt = await inbox.AcceptAsync(forward.Message, cancellationToken);
                LogAccepted(logger, update.Id, forward.Message.Conversation.Value, receipt.Outcome);
                activity?.SetTag("bridge.conversation", forward.Message.Conversation.Value);
                break;
            case TelegramNotice { Kind: TelegramNoticeKind.NotAllowed } refusal:
                // Once per chat: a refused group must not get a refusal for every message.
                if (_refusedChats.TryAdd(refusal.ChatId, 0))
                {
                    LogRefused(logger, refusal.ChatId);
                    _ = SendNoticeAsync(refusal.Target, options.Value.NotAllowedNotice);
                }
                break;
            case TelegramNotice notice:
                LogNotice(logger, update.Id, notice.ChatId);
                _ = SendNoticeAsync(notice.Target, options.Value.NonTextNotice);
                break;
            case TelegramIgnore ignore:
                LogIgnored(logger, update.Id, ignore.Reason);
                break;
        }
    }

    private async Task SendNoticeAsync(ReplyTarget target, string text)
    {
        try
        {
            await sender.SendAsync(target, text, lifetime.ApplicationStopping);
        }
        catch (Exception ex)
        {
            // Notices are courtesy: never let one fault an unobserved task.
            LogNoticeFailed(logger, ex, target.ChatId);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Telegram update {UpdateId} for {ConversationKey}: {Outcome}")]
    private static partial void LogAccepted(ILogger logger, int updateId, string conversationKey, InboxOutcome outcome);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Telegram update {UpdateId} ignored: {Reason}")]
    private static partial void LogIgnored(ILogger logger, int updateId, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Telegram update {UpdateId} in chat {ChatId} is not text; answering with the notice")]
    private static partial void LogNotice(ILogger logger, int updateId, long chatId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Telegram chat {ChatId} is not on the allow-lists; refused once")]
    private static partial void LogRefused(ILogger logger, long chatId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram update {UpdateId} could not be read; skipped")]
    private static partial void LogUnreadable(ILogger logger, Exception exception, int updateId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not send a notice to Telegram chat {ChatId}")]
    private static partial void LogNoticeFailed(ILogger logger, Exception exception, string chatId);
}
