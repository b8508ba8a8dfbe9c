using Osvi.Bridge.Messaging;
using Osvi.Bridge.Osvi;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Handoff;

/// <summary>
/// The relay's side of the handoff: opens a session's support thread when a v1 turn comes back with
/// <c>help_requested</c> (once per session; the first of two replicas wins, the other deletes its post),
/// mirrors every later turn into the open thread, keeps the session's last turns for the help request, and
/// flags a conversation whose agent could not be reached. Best effort: the user's answer never waits on
/// Slack failing. A help request whose post failed is made again on the next turn that still reports it.
/// </summary>
public sealed partial class SupportThreads(
    IHandoffStore store,
    SupportChannel channel,
    IEnumerable<IDisplayNameResolver> nameResolvers,
    BridgeMetrics metrics,
    TimeProvider time,
    ILogger<SupportThreads> logger) : IHumanHandoff
{
    private readonly Dictionary<string, IDisplayNameResolver> _names = nameResolvers.ToDictionary(r => r.Platform, StringComparer.OrdinalIgnoreCase);

    public async Task<HandoffStatus> FindAsync(string sessionId, CancellationToken cancellationToken) =>
        new(await store.FindBySessionAsync(sessionId, cancellationToken));

    public async Task AfterTurnAsync(InboundMessage message, AgentTurn turn, HandoffStatus status, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(turn);
        ArgumentNullException.ThrowIfNull(status);
        try
        {
            var thread = status.Thread?.SessionId == turn.SessionId ? status.Thread : await store.FindBySessionAsync(turn.SessionId, cancellationToken);
            if (thread is { Closed: false })
            {
                await channel.PostAsync(thread.ThreadTs, SupportPosts.Mirror(thread.DisplayName, message.Text, turn.Text), cancellationToken);
                store.Touch(thread);
            }
            else if (thread is null && turn.HelpRequested)
            {
                var name = await NameOfAsync(message, cancellationToken);
                var turns = await store.RecentTurnsAsync(turn.SessionId, cancellationToken);
                var post = SupportPosts.HelpRequest(name, message.Platform, message.Conversation.Value, turn.SessionId, message.Text, turn.Text, turns);
                if (await OpenAsync(message, turn.SessionId, name, post, cancellationToken) is { } opened)
                {
                    metrics.HandoffHelpRequest(message.Platform);
                    LogOpened(logger, message.Conversation.Value, turn.SessionId, opened.ThreadTs);
                }
            }
            store.AppendTurn(turn.SessionId, new RelayedTurn(message.Text, turn.Text));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogSupportFailed(logger, message.Conversation.Value, turn.SessionId, ex.GetType().Name, ex.Message);
        }
    }

    public async Task AgentFailedAsync(InboundMessage message, string? sessionId, HandoffStatus status, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(status);
        try
        {
            if (status.Thread is { Closed: false } thread)
            {
                await channel.PostAsync(thread.ThreadTs, SupportPosts.AgentFailedInThread(thread.DisplayName, message.Text, reason), cancellationToken);
                return;
            }
            var name = await NameOfAsync(message, cancellationToken);
            var post = SupportPosts.AgentUnreachable(name, message.Platform, message.Conversation.Value, sessionId, message.Text, reason);
            if (sessionId is null)
            {
                // No session to answer in: a flag without a thread mapping.
                await channel.OpenThreadAsync(post, cancellationToken);
            }
            else
            {
                await OpenAsync(message, sessionId, name, post, cancellationToken);
            }
            LogFlagged(logger, message.Conversation.Value, sessionId ?? "-");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogSupportFailed(logger, message.Conversation.Value, sessionId ?? "-", ex.GetType().Name, ex.Message);
        }
    }

    private async Task<HandoffThread?> OpenAsync(InboundMessage message, string sessionId, string name, string post, CancellationToken cancellationToken)
    {
        var ts = await channel.OpenThreadAsync(post, cancellationToken);
        var thread = new HandoffThread(sessionId, channel.ChannelId, ts, message.Platform, message.Conversation.Value,
            message.ReplyTarget.ChatId, message.ReplyTarget.ThreadId, name, time.GetUtcNow());
        if (await store.TryAddAsync(thread, cancellationToken))
        {
            return thread;
        }
        LogLostRace(logger, sessionId);
        await channel.DeleteQuietlyAsync(ts);
        return null;
    }

    private async Task<string> NameOfAsync(InboundMessage message, CancellationToken cancellationToken) =>
        _names.TryGetValue(message.Platform, out var names) ? await names.ResolveAsync(message, cancellationToken) : message.DisplayName;

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Help requested in {ConversationKey} (session {SessionId}): opened support thread {ThreadTs}")]
    private static partial void LogOpened(ILogger logger, string conversationKey, string sessionId, string threadTs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Flagged {ConversationKey} (session {SessionId}) in the support channel: the agent could not be reached")]
    private static partial void LogFlagged(ILogger logger, string conversationKey, string sessionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId} got a support thread elsewhere first; removed ours")]
    private static partial void LogLostRace(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Could not update the support channel for {ConversationKey} (session {SessionId}): {ErrorKind}: {Reason}; the user was answered regardless")]
    private static partial void LogSupportFailed(ILogger logger, string conversationKey, string sessionId, string errorKind, string reason);
}
