using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Formatting;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// The Slack path rehearsed in memory: the event parser on a canned DM and the mrkdwn renderer and
/// splitter on a Markdown answer; then three DMs through the whole path, from this app's ingestor over
/// a private copy of the inbox, relay and agent port (<see cref="RehearsalPipeline"/>) to its reply
/// sender on canned Web API answers.
/// </summary>
internal sealed class SlackHotPathRehearsal(
    IOptions<SlackOptions> options,
    IOptions<BridgeOptions> bridge,
    IServiceProvider services,
    IHostApplicationLifetime lifetime,
    TimeProvider time) : IHotPathRehearsal
{
    private static readonly SlackBotIdentity Bot = new("U1", "B1", "T0");

    public string Name => "slack";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using (var payload = JsonDocument.Parse(Event("D0", "U0", 0)))
        {
            _ = SlackEventParser.Parse(payload.RootElement, Bot);
        }
        var mrkdwn = SlackMrkdwnRenderer.Render("**Hello** _there_: `code`, [a link](https://example.com)\n\n- one\n- two\n\n```\nblock\n```");
        _ = SlackMessageSplitter.Split(mrkdwn);
        await RehearsePathAsync(cancellationToken);
    }

    private async Task RehearsePathAsync(CancellationToken cancellationToken)
    {
        await using var pipeline = RehearsalPipeline.Create(services);
        using var http = new HttpClient(new CannedApi(time, WebApiAnswer)) { BaseAddress = new Uri("http://slack.rehearsal.invalid/api/") };
        var api = new SlackApiClient(http, options, time, NullLogger<SlackApiClient>.Instance);
        // Paced without waits: the rehearsal's answers go out at once, also twice to one DM.
        var pacer = new SlackPostPacer(Options.Create(new SlackOptions { PostsPerSecondPerChannel = 100 }), time);
        var sender = new SlackReplySender(api, pacer, options, time, NullLogger<SlackReplySender>.Instance);
        var inbox = await pipeline.StartAsync(sender, cancellationToken);
        var identity = new SlackBotIdentityHolder();
        identity.Set(Bot);
        var ingestor = new SlackEventIngestor(identity, inbox, sender, pipeline.Marks, bridge, options, lifetime, time,
            NullLogger<SlackEventIngestor>.Instance);
        // Two DMs start a session each (the second on compiled code, so its waits on Redis suspend as
        // they do for real), then the first DM finds its session.
        for (var i = 1; i <= 3; i++)
        {
            var (channel, user) = i == 2 ? ("D2", "U2") : ("D1", "U1000");
            using var payload = JsonDocument.Parse(Event(channel, user, i));
            var message = ingestor.Parse(payload.RootElement)
                ?? throw new InvalidOperationException("the rehearsal's DM was not taken for the agent");
            var handled = pipeline.Watch(new InboundMessage(message.Platform, message.Conversation, message.MessageId, message.UserId,
                message.UserId, message.Text, message.ReplyTarget));
            await ingestor.AcceptAsync(message, cancellationToken);
            await pipeline.ExpectFinishedAsync(handled, $"DM {i}", cancellationToken);
        }
    }

    private static string Event(string channel, string user, int n) => $$$"""
        {"type":"event_callback","team_id":"T0","event_id":"Ev{{{n}}}","event":{"type":"message","channel_type":"im","channel":"{{{channel}}}","user":"{{{user}}}","text":"Hello <@U1>, how are you?","ts":"1764633600.00010{{{n}}}"}}
        """;

    /// <summary>Each Web API method answered as Slack shapes it.</summary>
    private static (HttpStatusCode, string) WebApiAnswer(HttpRequestMessage request) => (HttpStatusCode.OK, request.RequestUri?.Segments[^1] switch
    {
        "chat.postMessage" or "chat.update" => """{"ok":true,"channel":"D1","ts":"1764633601.000100","message":{"type":"message","text":"Hello","user":"U1","ts":"1764633601.000100"}}""",
        _ => """{"ok":true}""",
    });
}
