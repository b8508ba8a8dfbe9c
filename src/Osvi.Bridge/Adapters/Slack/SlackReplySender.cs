using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Formatting;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// Delivers the agent's Markdown to Slack as mrkdwn, split into messages of at most 4,000
/// characters, in the thread of <see cref="ReplyTarget.ThreadId"/> when set. Progress appears only
/// when the answer takes longer than <see cref="SlackOptions.ProgressDelay"/>: in a thread as Slack's
/// loading status (<c>assistant.threads.setStatus</c>, refreshed before Slack clears it after 2
/// minutes, cleared by the answer itself), elsewhere (or where Slack refuses the status) as a
/// placeholder message that the answer's first chunk replaces. If that replacement fails even after
/// the pipeline's retries, the answer is posted as a new message and the placeholder deleted, so
/// neither the answer is lost nor "Thinking…" left behind. Only refusals that retrying cannot cure
/// become <see cref="ReplyDeliveryException"/>; transient failures are thrown as what they are.
/// </summary>
public sealed partial class SlackReplySender : IReplySender
{
    /// <summary>Shown beside the app's name ("Osvi is thinking…").</summary>
    public const string StatusText = "is thinking…";

    /// <summary>Slack clears a status after 2 minutes; it is set again before that while the agent works.</summary>
    public static readonly TimeSpan StatusRefresh = TimeSpan.FromSeconds(100);

    // Errors meaning this app cannot use setStatus at all (old workspace, missing scope): placeholders from then on.
    private static readonly HashSet<string> StatusUnsupported = new(StringComparer.Ordinal)
    {
        "unknown_method", "missing_scope", "not_allowed_token_type", "method_deprecated", "no_permission", "not_allowed",
    };

    private readonly SlackApiClient _api;
    private readonly SlackPostPacer _pacer;
    private readonly SlackOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SlackReplySender> _logger;
    private readonly ConcurrentDictionary<ReplyTarget, Progress> _progress = new();
    private volatile bool _statusUnavailable;

    public SlackReplySender(SlackApiClient api, SlackPostPacer pacer, IOptions<SlackOptions> options, TimeProvider time, ILogger<SlackReplySender> logger)
    {
        _api = api;
        _pacer = pacer;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    public string Platform => SlackEventParser.Platform;

    public string Instance => _options.Instance;

    public Task SendAsync(ReplyTarget target, string markdown, CancellationToken cancellationToken) =>
        SendAsync(target, markdown, ReplyProgress.None, cancellationToken);

    public async Task SendAsync(ReplyTarget target, string markdown, ReplyProgress progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(progress);
        var chunks = SlackMessageSplitter.Split(SlackMrkdwnRenderer.Render(markdown ?? ""));
        if (chunks.Count == 0)
        {
            return;
        }

        // Progress stops first (a placeholder being posted is waited for, so it can be replaced).
        var shown = _progress.TryRemove(target, out var indicator) ? await indicator.StopAsync() : null;
        var placeholder = shown?.Placeholder;
        try
        {
            var first = progress.PartsDone;
            if (first == 0 && placeholder is not null && await TryReplacePlaceholderAsync(placeholder, chunks[0], cancellationToken))
            {
                placeholder = null;
                first = 1;
                await progress.Delivered(1, chunks.Count, cancellationToken);
            }
            for (var i = first; i < chunks.Count; i++)
            {
                await _pacer.WaitTurnAsync(target.ChatId, cancellationToken);
                try
                {
                    await _api.PostMessageAsync(target.ChatId, chunks[i], target.ThreadId, cancellationToken);
                }
                catch (SlackApiException ex) when (ex.Error == "timeout")
                {
                    // Sent, but no answer in time: Slack may well have posted it. A post is not repeated
                    // (the user would see it twice); it counts as delivered.
                    LogPostUnconfirmed(_logger, target.ChatId);
                }
                await progress.Delivered(i + 1, chunks.Count, cancellationToken);
            }
            LogSent(_logger, target.ChatId, chunks.Count);
        }
        catch (SlackApiException ex) when (!ex.IsTransient)
        {
            throw new ReplyDeliveryException($"Slack refused the reply in {target.ChatId}: {ex.Error}", ex);
        }
        finally
        {
            if (placeholder is not null)
            {
                // Not replaced: the answer went (or failed) as new messages; "Thinking…" must not stay.
                await DeleteQuietlyAsync(placeholder);
            }
        }
    }

    public async Task<IAsyncDisposable> ShowProgressAsync(ReplyTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!_options.ShowProgress)
        {
            return NoProgress.Instance;
        }
        var progress = new Progress(this, target, cancellationToken);
        if (_progress.TryGetValue(target, out var previous))
        {
            await previous.DisposeAsync();
        }
        _progress[target] = progress;
        progress.Start(_options.ProgressDelay);
        if (_options.ProgressDelay == TimeSpan.Zero)
        {
            // No delay wanted: the progress is there before the agent is asked, as the caller expects.
            await progress.FirstAttempt;
        }
        return progress;
    }

    /// <summary>Shows progress once: the thread status where possible, else a placeholder if the channel's budget has room now.</summary>
    private async Task<ShownProgress?> ShowAsync(ReplyTarget target, CancellationToken cancellationToken)
    {
        try
        {
            if (_options.UseThreadStatus && target.ThreadId is { } thread && !_statusUnavailable)
            {
                try
                {
                    await _api.SetThreadStatusAsync(target.ChatId, thread, StatusText, cancellationToken);
                    return new ShownProgress(null, thread);
                }
                catch (SlackApiException ex) when (!ex.IsTransient)
                {
                    if (StatusUnsupported.Contains(ex.Error))
                    {
                        _statusUnavailable = true;
                        LogStatusUnavailable(_logger, ex.Error);
                    }
                    // Fall through to the placeholder.
                }
            }
            if (!_pacer.TryTakeNow(target.ChatId))
            {
                // Answers first: progress never makes an answer wait for the channel's budget.
                return null;
            }
            var posted = await _api.PostMessageAsync(target.ChatId, _options.ProgressText, target.ThreadId, cancellationToken);
            return new ShownProgress(posted, null);
        }
        catch (Exception ex) when (ex is SlackApiException or OperationCanceledException)
        {
            // Progress is cosmetic; the answer is what matters.
            LogProgressFailed(_logger, target.ChatId, ex is SlackApiException s ? s.Error : "cancelled");
            return null;
        }
    }

    private async Task RefreshStatusAsync(ReplyTarget target, string thread, CancellationToken cancellationToken)
    {
        try
        {
            await _api.SetThreadStatusAsync(target.ChatId, thread, StatusText, cancellationToken);
        }
        catch (Exception ex) when (ex is SlackApiException or OperationCanceledException)
        {
            LogProgressFailed(_logger, target.ChatId, ex is SlackApiException s ? s.Error : "cancelled");
        }
    }

    private async Task<bool> TryReplacePlaceholderAsync(SlackPostedMessage placeholder, string text, CancellationToken cancellationToken)
    {
        try
        {
            // Transient failures were already retried by the pipeline (an edit may be repeated safely).
            await _api.UpdateMessageAsync(placeholder.Channel, placeholder.Ts, text, cancellationToken);
            return true;
        }
        catch (SlackApiException ex)
        {
            // Deleted, not editable, or Slack kept failing: post the answer instead; the placeholder goes.
            LogPlaceholderLost(_logger, placeholder.Channel, ex.Error);
            return false;
        }
    }

    /// <summary>Disposal has no token of its own; a hung call must not hold the conversation.</summary>
    private async Task DeleteQuietlyAsync(SlackPostedMessage placeholder)
    {
        using var timeout = new CancellationTokenSource(_options.RequestTimeout, _time);
        try
        {
            await _api.DeleteMessageAsync(placeholder.Channel, placeholder.Ts, timeout.Token);
        }
        catch (Exception ex) when (ex is SlackApiException or OperationCanceledException)
        {
            LogPlaceholderNotDeleted(_logger, placeholder.Channel, ex is SlackApiException s ? s.Error : "timeout");
        }
    }

    private async Task ClearStatusQuietlyAsync(ReplyTarget target, string thread)
    {
        using var timeout = new CancellationTokenSource(_options.RequestTimeout, _time);
        try
        {
            await _api.SetThreadStatusAsync(target.ChatId, thread, "", timeout.Token);
        }
        catch (Exception ex) when (ex is SlackApiException or OperationCanceledException)
        {
            // Slack clears it by itself within 2 minutes.
            LogProgressFailed(_logger, target.ChatId, ex is SlackApiException s ? s.Error : "timeout");
        }
    }

    private async ValueTask RemoveUnusedAsync(Progress progress)
    {
        if (!_progress.TryRemove(new KeyValuePair<ReplyTarget, Progress>(progress.Target, progress)))
        {
            return; // An answer took it over.
        }
        var shown = await progress.StopAsync();
        if (shown?.Placeholder is { } placeholder)
        {
            await DeleteQuietlyAsync(placeholder);
        }
        else if (shown?.StatusThread is { } thread)
        {
            await ClearStatusQuietlyAsync(progress.Target, thread);
        }
    }

    /// <summary>What progress is on screen: a placeholder message, or the loading status of a thread.</summary>
    private sealed record ShownProgress(SlackPostedMessage? Placeholder, string? StatusThread);

    /// <summary>
    /// One message's progress: waits for the delay, shows itself, keeps a status fresh, until stopped.
    /// Stopping waits for a show or refresh in flight, so nothing appears after the answer.
    /// </summary>
    private sealed class Progress(SlackReplySender owner, ReplyTarget target, CancellationToken handling) : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly TaskCompletionSource _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Task<ShownProgress?> _run = Task.FromResult<ShownProgress?>(null);

        public ReplyTarget Target { get; } = target;

        public Task FirstAttempt => _firstAttempt.Task;

        public void Start(TimeSpan delay) => _run = RunAsync(delay);

        public async Task<ShownProgress?> StopAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await _stop.CancelAsync();
            }
            var shown = await _run;
            _stop.Dispose();
            return shown;
        }

        public ValueTask DisposeAsync() => owner.RemoveUnusedAsync(this);

        private async Task<ShownProgress?> RunAsync(TimeSpan delay)
        {
            ShownProgress? shown = null;
            try
            {
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, owner._time, _stop.Token);
                }
                shown = await owner.ShowAsync(Target, handling);
                _firstAttempt.TrySetResult();
                while (shown?.StatusThread is { } thread)
                {
                    await Task.Delay(StatusRefresh, owner._time, _stop.Token);
                    await owner.RefreshStatusAsync(Target, thread, handling);
                }
            }
            catch (OperationCanceledException)
            {
                // Stopped: the answer came (or the message is done).
            }
            finally
            {
                _firstAttempt.TrySetResult();
            }
            return shown;
        }
    }

    private sealed class NoProgress : IAsyncDisposable
    {
        public static readonly NoProgress Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack did not confirm a post in {Channel} in time; it may have been posted, so it is not repeated")]
    private static partial void LogPostUnconfirmed(ILogger logger, string channel);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Sent a reply to Slack channel {Channel} in {Chunks} message(s)")]
    private static partial void LogSent(ILogger logger, string channel, int chunks);

    [LoggerMessage(Level = LogLevel.Information, Message = "The progress placeholder in {Channel} could not be replaced ({Error}); posting the answer as a new message")]
    private static partial void LogPlaceholderLost(ILogger logger, string channel, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete the progress placeholder in {Channel} ({Error})")]
    private static partial void LogPlaceholderNotDeleted(ILogger logger, string channel, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not show progress in {Channel} ({Error})")]
    private static partial void LogProgressFailed(ILogger logger, string channel, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack refused assistant.threads.setStatus ({Error}); progress is shown as a placeholder message from now on")]
    private static partial void LogStatusUnavailable(ILogger logger, string error);
}
