using Microsoft.Extensions.Options;
using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.Formatting;

namespace Osvi.Bridge.Handoff;

/// <summary>
/// Posts in the support channel (<c>Handoff:SlackChannel</c>) through the Slack channel's client and pacing:
/// a thread's first post, and mrkdwn in a thread (split above Slack's 4,000 characters). Slack's refusals
/// come out as <see cref="SlackApiException"/>; transient ones were retried by the client's pipeline.
/// </summary>
public sealed class SupportChannel(SlackApiClient api, SlackPostPacer pacer, IOptions<HandoffOptions> options, TimeProvider time)
{
    private readonly string _channel = options.Value.SlackChannel;

    public string ChannelId => _channel;

    /// <summary>Posts a new message in the channel; returns its <c>ts</c>, the thread's id.</summary>
    public async Task<string> OpenThreadAsync(string mrkdwn, CancellationToken cancellationToken)
    {
        var chunks = SlackMessageSplitter.Split(mrkdwn);
        await pacer.WaitTurnAsync(_channel, cancellationToken);
        var root = await api.PostMessageAsync(_channel, chunks[0], null, cancellationToken);
        if (string.IsNullOrEmpty(root.Ts))
        {
            throw new SlackApiException("chat.postMessage", "no_ts", "Slack posted the help request but returned no ts.");
        }
        for (var i = 1; i < chunks.Count; i++)
        {
            await pacer.WaitTurnAsync(_channel, cancellationToken);
            await api.PostMessageAsync(_channel, chunks[i], root.Ts, cancellationToken);
        }
        return root.Ts;
    }

    public async Task PostAsync(string threadTs, string mrkdwn, CancellationToken cancellationToken)
    {
        foreach (var chunk in SlackMessageSplitter.Split(mrkdwn))
        {
            await pacer.WaitTurnAsync(_channel, cancellationToken);
            await api.PostMessageAsync(_channel, chunk, threadTs, cancellationToken);
        }
    }

    /// <summary>Removes a thread's first post that lost the race for its session (another replica opened one).</summary>
    public async Task DeleteQuietlyAsync(string ts)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), time);
        try
        {
            await api.DeleteMessageAsync(_channel, ts, timeout.Token);
        }
        catch (Exception ex) when (ex is SlackApiException or OperationCanceledException)
        {
            // A second help request post is noise, not harm.
        }
    }
}
