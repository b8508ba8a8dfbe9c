using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Formatting;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Telemetry;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace Osvi.Bridge.Adapters.Telegram;

/// <summary>
/// Delivers the agent's Markdown to a Telegram chat: rendered to Telegram HTML, split below the
/// length limit, paced per chat and overall. A 429 waits as long as Telegram asks; an HTML part
/// Telegram cannot parse is resent as plain text; a blocked bot or a vanished chat ends the reply
/// with <see cref="ReplyDeliveryException"/>; other failures are retried a few times, then thrown, and
/// the inbox tries the message again later from the first part Telegram did not take.
/// While the agent works, a private chat sees a "Thinking…" draft (with a Stop button) that the answer
/// replaces, groups see <c>typing</c>. An answer with a table goes out as a rich message where Telegram
/// takes one.
/// </summary>
public sealed partial class TelegramReplySender(
    Lazy<ITelegramBotClient> bot,
    TelegramSendPacer pacer,
    IDeduplicationStore marks,
    IOptions<TelegramOptions> options,
    BridgeMetrics metrics,
    TimeProvider time,
    ILogger<TelegramReplySender> logger) : IReplySender
{
    private const int MaxAttempts = 3;
    private const int MaxRateLimitedAttempts = 10;

    // Telegram reports about 32k characters for a rich message (unconfirmed); kept well below.
    private const int MaxRichMessageLength = 16_000;

    // The indicator of each reply in progress, so that sending the reply stops it first: a typing
    // action that reached Telegram after the answer would show "typing…" for 5 s more.
    private readonly ConcurrentDictionary<ReplyTarget, TypingIndicator> _typing = new();

    // The drafts shown right now, so a Stop pressed on one ends its refreshes at once.
    private readonly ConcurrentDictionary<(long Chat, long Draft), TypingIndicator> _drafts = new();

    // Set when the Bot API server does not know a method (an older self-hosted one): not tried again.
    private volatile bool _draftsUnsupported;
    private volatile bool _richUnsupported;

    // Read on use, not at construction: the host resolves every IReplySender while it validates the
    // configuration, and a bad Telegram section must be reported with the others, not thrown from here.
    private TelegramOptions Options => options.Value;
    private TimeProvider Time => time;

    public string Platform => TelegramUpdateParser.Platform;

    public string Instance => Options.Instance;

    public Task SendAsync(ReplyTarget target, string markdown, CancellationToken cancellationToken) =>
        SendAsync(target, markdown, ReplyProgress.None, cancellationToken);

    public async Task SendAsync(ReplyTarget target, string markdown, ReplyProgress progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(markdown);
        ArgumentNullException.ThrowIfNull(progress);
        var chunks = TelegramMessageSplitter.Split(TelegramHtmlRenderer.Render(markdown), Options.MaxMessageLength)
            .Where(c => !string.IsNullOrWhiteSpace(TelegramMessageSplitter.ToPlainText(c)))
            .ToList();
        if (chunks.Count == 0 && !string.IsNullOrWhiteSpace(markdown))
        {
            // Markdown that renders to nothing visible (only a link definition, say): show it as written.
            chunks.Add(TelegramHtmlRenderer.Escape(markdown));
        }
        if (_typing.TryGetValue(target, out var typing))
        {
            await typing.StopAsync();
            if (typing.DraftShown && Options.StopButton && !await marks.TryMarkAsync(Platform, DraftEndId(target.ChatId, typing.DraftId), cancellationToken))
            {
                // The user pressed Stop on this turn's draft (the mark is first come: Stop, or this answer).
                LogStopped(logger, target.ChatId, typing.DraftId);
                metrics.Stopped(Platform);
                await progress.Delivered(Math.Max(1, chunks.Count), Math.Max(1, chunks.Count), cancellationToken);
                return;
            }
        }
        if (progress.PartsDone == 0 && Options.RichTables && !_richUnsupported && TelegramHtmlRenderer.HasTable(markdown)
            && markdown.Length <= MaxRichMessageLength && await TrySendRichAsync(target, markdown, cancellationToken))
        {
            await progress.Delivered(1, 1, cancellationToken);
            return;
        }
        for (var i = progress.PartsDone; i < chunks.Count; i++)
        {
            // Only the first part quotes the user's message; the rest simply follow it.
            await SendPartAsync(target, chunks[i], i == 0 ? target.ReplyToMessageId : null, cancellationToken);
            await progress.Delivered(i + 1, chunks.Count, cancellationToken);
        }
    }

    public Task<IAsyncDisposable> ShowProgressAsync(ReplyTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var indicator = new TypingIndicator(this, target, UsesDraft(target), cancellationToken);
        _typing[target] = indicator;
        return Task.FromResult<IAsyncDisposable>(indicator);
    }

    /// <summary>
    /// The user pressed Stop on a draft (a <c>stopped_message_generation</c> update, which may reach another
    /// replica than the one working on the turn): marks the draft ended, so the turn's answer is not sent,
    /// and ends the draft's refreshes if it is shown from here.
    /// </summary>
    public async Task StopDraftAsync(long chatId, long draftId, CancellationToken cancellationToken)
    {
        var chat = chatId.ToString(CultureInfo.InvariantCulture);
        var first = await marks.TryMarkAsync(Platform, DraftEndId(chat, draftId), cancellationToken);
        LogStopPressed(logger, chat, draftId, first);
        if (_drafts.TryGetValue((chatId, draftId), out var indicator))
        {
            indicator.EndRefreshes();
        }
    }

    // Private chats have positive ids (the user's), groups negative ones; drafts exist in private chats only.
    private bool UsesDraft(ReplyTarget target) =>
        Options.ThinkingStyle == TelegramThinkingStyle.Draft && !_draftsUnsupported
        && long.TryParse(target.ChatId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var chat) && chat > 0;

    private static string DraftEndId(string chatId, long draftId) =>
        string.Create(CultureInfo.InvariantCulture, $"draft:{chatId}:{draftId}");

    /// <summary>
    /// Sends the whole answer as one rich message (Telegram renders its Markdown tables); false when it was
    /// not taken, and the caller sends it the usual way (tables as monospaced blocks).
    /// </summary>
    private async Task<bool> TrySendRichAsync(ReplyTarget target, string markdown, CancellationToken cancellationToken)
    {
        var chatId = long.Parse(target.ChatId, CultureInfo.InvariantCulture);
        var reply = target.ReplyToMessageId is { } replyTo && int.TryParse(replyTo, CultureInfo.InvariantCulture, out var messageId)
            ? new ReplyParameters { MessageId = messageId, AllowSendingWithoutReply = true }
            : null;
        if (await pacer.WaitTurnAsync(target.ChatId, cancellationToken))
        {
            metrics.RateLimitWait(Platform);
        }
        try
        {
            await bot.Value.SendRichMessage(chatId, new InputRichMessage { Markdown = markdown }, replyParameters: reply,
                messageThreadId: ParseThread(target.ThreadId), cancellationToken: cancellationToken);
            return true;
        }
        catch (ApiRequestException ex)
        {
            if (ex.ErrorCode == 404)
            {
                _richUnsupported = true;
            }
            LogRichRefused(logger, target.ChatId, ex.ErrorCode, ex.Message);
            return false;
        }
        catch (RequestException ex) when (ex.InnerException is OperationCanceledException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            // Sent, but no answer in time: as with sendMessage, not repeated.
            LogSendUnconfirmed(logger, target.ChatId);
            return true;
        }
        catch (RequestException ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogRichRefused(logger, target.ChatId, 0, ex.Message);
            return false;
        }
    }

    private async Task SendPartAsync(ReplyTarget target, string html, string? replyTo, CancellationToken cancellationToken)
    {
        var chatId = long.Parse(target.ChatId, CultureInfo.InvariantCulture);
        var threadId = ParseThread(target.ThreadId);
        var reply = replyTo is not null && int.TryParse(replyTo, CultureInfo.InvariantCulture, out var messageId)
            ? new ReplyParameters { MessageId = messageId, AllowSendingWithoutReply = true }
            : null;
        var text = html;
        var parseMode = ParseMode.Html;
        var failures = 0;
        var rateLimited = 0;
        while (true)
        {
            if (await pacer.WaitTurnAsync(target.ChatId, cancellationToken))
            {
                metrics.RateLimitWait(Platform, Instance);
            }
            try
            {
                await bot.Value.SendMessage(chatId, text, parseMode: parseMode, replyParameters: reply,
                    messageThreadId: threadId, cancellationToken: cancellationToken);
                return;
            }
            catch (ApiRequestException ex) when (ex.ErrorCode == 429 && ++rateLimited <= MaxRateLimitedAttempts)
            {
                var wait = TimeSpan.FromSeconds(Math.Max(1, ex.Parameters?.RetryAfter ?? 1));
                LogRateLimited(logger, target.ChatId, wait.TotalSeconds);
                metrics.RateLimitWait(Platform, Instance);
                await Task.Delay(wait, time, cancellationToken);
            }
            catch (ApiRequestException ex) when (ex.ErrorCode == 400 && parseMode == ParseMode.Html
                && ex.Message.Contains("can't parse entities", StringComparison.OrdinalIgnoreCase))
            {
                LogParseFallback(logger, target.ChatId, ex.Message);
                text = TelegramMessageSplitter.ToPlainText(html);
                parseMode = ParseMode.None;
            }
            catch (ApiRequestException ex) when (ex.Parameters?.MigrateToChatId is { } supergroup && supergroup != chatId)
            {
                // The group became a supergroup with a new id: this reply goes there (later messages
                // arrive from the new id and are a new conversation).
                LogMigrated(logger, target.ChatId, supergroup);
                chatId = supergroup;
                reply = null;
            }
            catch (ApiRequestException ex) when (IsPermanent(ex))
            {
                throw new ReplyDeliveryException($"Telegram refused the reply to chat {target.ChatId}: {ex.ErrorCode} {ex.Message}", ex);
            }
            catch (RequestException ex) when (ex is not ApiRequestException && ex.InnerException is OperationCanceledException or TimeoutException
                && !cancellationToken.IsCancellationRequested)
            {
                // Sent, but no answer in time: Telegram may well have taken it. sendMessage is not
                // repeated (the user would see it twice); the part counts as delivered.
                LogSendUnconfirmed(logger, target.ChatId);
                return;
            }
            catch (RequestException ex) when (!cancellationToken.IsCancellationRequested && ++failures < MaxAttempts)
            {
                LogSendRetry(logger, ex, target.ChatId, failures, ex.Message);
                metrics.Retry(Platform);
                await Task.Delay(Options.SendRetryDelay, time, cancellationToken);
            }
        }
    }

    private static bool IsPermanent(ApiRequestException ex) =>
        ex.ErrorCode == 403
        || (ex.ErrorCode == 400 && ex.Message.Contains("chat not found", StringComparison.OrdinalIgnoreCase));

    private static int? ParseThread(string? threadId) =>
        threadId is not null && int.TryParse(threadId, CultureInfo.InvariantCulture, out var id) ? id : null;

    /// <summary>
    /// Re-sends <c>typing</c> until stopped (Telegram shows it for about 5 s only). Stopping ends the
    /// waits, never a call in flight: that one is let finish, so it cannot land after the reply.
    /// </summary>
    private async Task KeepTypingAsync(ReplyTarget target, CancellationToken stop, CancellationToken cancellationToken)
    {
        var chatId = long.Parse(target.ChatId, CultureInfo.InvariantCulture);
        var threadId = ParseThread(target.ThreadId);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await bot.Value.SendChatAction(chatId, ChatAction.Typing, messageThreadId: threadId, cancellationToken: cancellationToken);
            }
            catch (ApiRequestException ex) when (ex.ErrorCode is 400 or 403)
            {
                // The reply itself will meet the same refusal and report it.
                LogTypingFailed(logger, ex, target.ChatId);
                return;
            }
            catch (RequestException ex) when (!cancellationToken.IsCancellationRequested)
            {
                LogTypingFailed(logger, ex, target.ChatId);
            }
            await Task.Delay(Options.TypingInterval, time, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>
    /// Shows the "Thinking…" draft (empty text) and sends it again before Telegram drops it (about 30 s),
    /// until stopped. A draft Telegram refuses (an older Bot API server, a chat without drafts) turns into
    /// <c>typing</c> for the rest of this turn, and for good when the server does not know the method.
    /// </summary>
    private async Task KeepDraftAsync(TypingIndicator indicator, CancellationToken stop, CancellationToken cancellationToken)
    {
        var target = indicator.Target;
        var chatId = long.Parse(target.ChatId, CultureInfo.InvariantCulture);
        var threadId = ParseThread(target.ThreadId);
        _drafts[(chatId, indicator.DraftId)] = indicator;
        try
        {
            while (!stop.IsCancellationRequested && !indicator.RefreshesEnded)
            {
                try
                {
                    await bot.Value.SendMessageDraft(chatId, indicator.DraftId, "", messageThreadId: threadId, canStop: Options.StopButton,
                        cancellationToken: cancellationToken);
                    indicator.DraftShown = true;
                }
                catch (ApiRequestException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    if (ex.ErrorCode == 404)
                    {
                        _draftsUnsupported = true;
                    }
                    LogDraftRefused(logger, target.ChatId, ex.ErrorCode, ex.Message);
                    await KeepTypingAsync(target, stop, cancellationToken);
                    return;
                }
                catch (RequestException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    LogTypingFailed(logger, ex, target.ChatId);
                }
                await Task.Delay(Options.DraftRefreshInterval, time, indicator.RefreshesEndedToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        finally
        {
            _drafts.TryRemove(new KeyValuePair<(long, long), TypingIndicator>((chatId, indicator.DraftId), indicator));
        }
    }

    /// <summary>
    /// Starts <see cref="KeepTypingAsync"/> (or <see cref="KeepDraftAsync"/>) only after <see cref="TelegramOptions.TypingDelay"/>, so a
    /// quick answer costs no call. Until then it is just a timer: creating and stopping it neither
    /// queues work nor waits, which keeps it off the quick answer's path.
    /// </summary>
    private sealed class TypingIndicator : IAsyncDisposable
    {
        private readonly TelegramReplySender _sender;
        private readonly ReplyTarget _target;
        private readonly bool _draft;
        private readonly CancellationToken _cancellationToken;
        private readonly CancellationTokenSource _stop;
        private readonly CancellationTokenSource _refreshes;
        private readonly Lock _gate = new();
        private readonly ITimer? _start;
        private Task? _loop;
        private bool _stopped;
        private volatile bool _draftShown;

        public TypingIndicator(TelegramReplySender sender, ReplyTarget target, bool draft, CancellationToken cancellationToken)
        {
            _sender = sender;
            _target = target;
            _draft = draft;
            _cancellationToken = cancellationToken;
            _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _refreshes = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            // Non-zero and unguessable across replicas: the Stop mark is named by it.
            DraftId = Random.Shared.NextInt64(1, long.MaxValue);
            var delay = sender.Options.TypingDelay;
            if (delay == TimeSpan.Zero)
            {
                // No delay means typing at once, not whenever a timer thread gets to it.
                Begin();
            }
            else
            {
                _start = sender.Time.CreateTimer(static state => ((TypingIndicator)state!).Begin(), this, delay, Timeout.InfiniteTimeSpan);
            }
        }

        private void Begin()
        {
            lock (_gate)
            {
                if (_stopped || _loop is not null)
                {
                    return;
                }
                _loop = _draft
                    ? Task.Run(() => _sender.KeepDraftAsync(this, _stop.Token, _cancellationToken), CancellationToken.None)
                    : Task.Run(() => _sender.KeepTypingAsync(_target, _stop.Token, _cancellationToken), CancellationToken.None);
            }
        }

        public ReplyTarget Target => _target;

        public long DraftId { get; }

        /// <summary>A draft reached Telegram, so the user may have pressed its Stop button.</summary>
        public bool DraftShown { get => _draftShown; set => _draftShown = value; }

        public bool RefreshesEnded => _refreshes.IsCancellationRequested;

        public CancellationToken RefreshesEndedToken => _refreshes.Token;

        /// <summary>Stop was pressed: no more drafts (the answer is withheld by the mark, not here).</summary>
        public void EndRefreshes()
        {
            try
            {
                _refreshes.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The turn ended meanwhile.
            }
        }

        public async Task StopAsync()
        {
            Task? loop;
            lock (_gate)
            {
                _stopped = true;
                loop = _loop;
            }
            _start?.Dispose();
            if (loop is null)
            {
                return;
            }
            _stop.Cancel();
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _sender._typing.TryRemove(new KeyValuePair<ReplyTarget, TypingIndicator>(_target, this));
            _refreshes.Dispose();
            _stop.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Telegram chat {ChatId} was upgraded to supergroup {SupergroupId}; sending there")]
    private static partial void LogMigrated(ILogger logger, string chatId, long supergroupId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram rate-limited chat {ChatId}; waiting {RetryAfterSeconds} s as asked")]
    private static partial void LogRateLimited(ILogger logger, string chatId, double retryAfterSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram could not parse our HTML for chat {ChatId} ({Reason}); resending as plain text")]
    private static partial void LogParseFallback(ILogger logger, string chatId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram did not confirm a message to chat {ChatId} in time; it may have been delivered, so it is not repeated")]
    private static partial void LogSendUnconfirmed(ILogger logger, string chatId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sending to Telegram chat {ChatId} failed (attempt {Attempt}: {Reason}); retrying")]
    private static partial void LogSendRetry(ILogger logger, Exception exception, string chatId, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Telegram chat {ChatId}: the user pressed Stop on draft {DraftId}; the answer is not sent (the agent finished the turn anyway)")]
    private static partial void LogStopped(ILogger logger, string chatId, long draftId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Telegram chat {ChatId}: Stop pressed on draft {DraftId} (before the answer: {BeforeAnswer})")]
    private static partial void LogStopPressed(ILogger logger, string chatId, long draftId, bool beforeAnswer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram refused the thinking draft for chat {ChatId} ({ErrorCode}: {Reason}); showing typing instead")]
    private static partial void LogDraftRefused(ILogger logger, string chatId, int errorCode, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram did not take the rich message with a table for chat {ChatId} ({ErrorCode}: {Reason}); sending it with the table as a monospaced block")]
    private static partial void LogRichRefused(ILogger logger, string chatId, int errorCode, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not send typing to Telegram chat {ChatId}")]
    private static partial void LogTypingFailed(ILogger logger, Exception exception, string chatId);
}
