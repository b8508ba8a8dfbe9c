using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Formatting;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// Delivers the agent's Markdown to Slack as mrkdwn, split into messages of at most 4,000
/// characters, in the thread of <see cref="ReplyTarget.ThreadId"/> when set. Progress is a
/// placeholder message that the first chunk of the next reply replaces (<c>chat.update</c>); a
/// placeholder nobody replaced is deleted when its handle is disposed.
/// </summary>
public sealed partial class SlackReplySender : IReplySender
{
    private readonly SlackApiClient _api;
    private readonly SlackPostPacer _pacer;
    private readonly SlackOptions _options;
    private readonly ILogger<SlackReplySender> _logger;
    private readonly ConcurrentDictionary<ReplyTarget, Placeholder> _placeholders = new();

    public SlackReplySender(SlackApiClient api, SlackPostPacer pacer, IOptions<SlackOptions> options, ILogger<SlackReplySender> logger)
    {
        _api = api;
        _pacer = pacer;
        _options = options.Value;
        _logger = logger;
    }

    public string Platform => SlackEventParser.Platform;

    public async Task SendAsync(ReplyTarget target, string markdown, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var chunks = SlackMessageSplitter.Split(SlackMrkdwnRenderer.Render(markdown ?? ""));
        if (chunks.Count == 0)
        {
            return;
        }

        _placeholders.TryRemove(target, out var placeholder);
        try
        {
            for (var i = 0; i < chunks.Count; i++)
            {
                if (i == 0 && placeholder is not null && await TryReplacePlaceholderAsync(placeholder, chunks[0], cancellationToken))
                {
                    continue;
                }
                await _pacer.WaitTurnAsync(target.ChatId, cancellationToken);
                await _api.PostMessageAsync(target.ChatId, chunks[i], target.ThreadId, cancellationToken);
            }
            LogSent(_logger, target.ChatId, chunks.Count);
        }
        catch (SlackApiException ex)
        {
            throw new ReplyDeliveryException($"Slack refused the reply in {target.ChatId}: {ex.Error}", ex);
        }
    }

    public async Task<IAsyncDisposable> ShowProgressAsync(ReplyTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!_options.ShowProgress)
        {
            return NoProgress.Instance;
        }
        await _pacer.WaitTurnAsync(target.ChatId, cancellationToken);
        var posted = await _api.PostMessageAsync(target.ChatId, _options.ProgressText, target.ThreadId, cancellationToken);
        var placeholder = new Placeholder(this, target, posted);
        _placeholders[target] = placeholder;
        return placeholder;
    }

    private async Task<bool> TryReplacePlaceholderAsync(Placeholder placeholder, string text, CancellationToken cancellationToken)
    {
        try
        {
            await _api.UpdateMessageAsync(placeholder.Message.Channel, placeholder.Message.Ts, text, cancellationToken);
            return true;
        }
        catch (SlackApiException ex) when (ex.Error is "message_not_found" or "cant_update_message" or "edit_window_closed" or "msg_too_long")
        {
            // Someone deleted the placeholder, or it cannot be edited: post the answer instead.
            LogPlaceholderLost(_logger, placeholder.Message.Channel, ex.Error);
            return false;
        }
    }

    private async ValueTask RemoveUnusedAsync(Placeholder placeholder)
    {
        if (!_placeholders.TryRemove(new KeyValuePair<ReplyTarget, Placeholder>(placeholder.Target, placeholder)))
        {
            return; // An answer replaced it.
        }
        // Disposal has no token of its own; do not let a hung call hold the conversation.
        using var timeout = new CancellationTokenSource(_options.RequestTimeout);
        try
        {
            await _api.DeleteMessageAsync(placeholder.Message.Channel, placeholder.Message.Ts, timeout.Token);
        }
        catch (Exception ex) when (ex is SlackApiException or OperationCanceledException)
        {
            LogPlaceholderNotDeleted(_logger, placeholder.Message.Channel, ex.GetType().Name);
        }
    }

    private sealed class Placeholder(SlackReplySender owner, ReplyTarget target, SlackPostedMessage message) : IAsyncDisposable
    {
        public ReplyTarget Target { get; } = target;
        public SlackPostedMessage Message { get; } = message;

        public ValueTask DisposeAsync() => owner.RemoveUnusedAsync(this);
    }

    private sealed class NoProgress : IAsyncDisposable
    {
        public static readonly NoProgress Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sent a reply to Slack channel {Channel} in {Chunks} message(s)")]
    private static partial void LogSent(ILogger logger, string channel, int chunks);

    [LoggerMessage(Level = LogLevel.Debug, Message = "The progress placeholder in {Channel} could not be replaced ({Error}); posting the answer")]
    private static partial void LogPlaceholderLost(ILogger logger, string channel, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete the unused progress placeholder in {Channel} ({ErrorKind})")]
    private static partial void LogPlaceholderNotDeleted(ILogger logger, string channel, string errorKind);
}
