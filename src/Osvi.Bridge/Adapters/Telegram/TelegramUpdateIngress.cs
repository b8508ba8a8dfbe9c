using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Dispatching;
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
    IDeduplicationStore deduplication,
    TelegramUpdateParser parser,
    TelegramReplySender sender,
    IOptions<TelegramOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<TelegramUpdateIngress> logger)
{
    private readonly ConcurrentDictionary<long, byte> _refusedChats = new();

    public Task HandleAsync(Update update, TelegramBotIdentity bot, CancellationToken cancellationToken) =>
        HandleBatchAsync([update], bot, cancellationToken);

    /// <summary>
    /// Handles one poll's updates in order; the messages for the agent go to the inbox together, so
    /// a burst pays one de-duplication round trip, not one per update. Returns once all may be confirmed.
    /// </summary>
    public async Task HandleBatchAsync(IReadOnlyList<Update> updates, TelegramBotIdentity bot, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(updates);
        var forwards = new List<(Update Update, InboundMessage Message)>(updates.Count);
        foreach (var update in updates)
        {
            switch (Parse(update, bot))
            {
                case TelegramForward forward:
                    forwards.Add((update, forward.Message));
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
                    // Notices bypass the inbox, so they take the same de-duplication mark themselves:
                    // a sticker redelivered after a restart is not answered twice.
                    if (await deduplication.TryMarkAsync(TelegramUpdateParser.Platform,
                        bot.Id.ToString(CultureInfo.InvariantCulture) + ":" + update.Id.ToString(CultureInfo.InvariantCulture), cancellationToken))
                    {
                        LogNotice(logger, update.Id, notice.ChatId);
                        _ = SendNoticeAsync(notice.Target, notice.Text ?? options.Value.NonTextNotice);
                    }
                    break;
                case TelegramStop stop:
                    await sender.StopDraftAsync(stop.ChatId, stop.DraftId, cancellationToken);
                    break;
                case TelegramIgnore ignore:
                    LogIgnored(logger, update.Id, ignore.Reason);
                    break;
            }
        }

        if (forwards.Count == 0)
        {
            return;
        }
        var receipts = await inbox.AcceptManyAsync(forwards.Select(f => f.Message).ToList(), cancellationToken);
        for (var i = 0; i < forwards.Count; i++)
        {
            LogAccepted(logger, forwards[i].Update.Id, forwards[i].Message.Conversation.Value, receipts[i].Outcome);
        }
    }

    private TelegramUpdateDecision? Parse(Update update, TelegramBotIdentity bot)
    {
        using var activity = BridgeMetrics.ActivitySource.StartActivity("telegram update");
        activity?.SetTag("telegram.update_id", update.Id);
        activity?.SetTag("telegram.bot_id", bot.Id);
        try
        {
            var decision = parser.Parse(update, bot);
            if (decision is TelegramForward forward)
            {
                activity?.SetTag("bridge.conversation", forward.Message.Conversation.Value);
            }
            return decision;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A malformed update must not stall the chat: confirm it and move on.
            LogUnreadable(logger, ex, update.Id);
            return null;
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
