using System.Text.Json;
using Osvi.Bridge.Formatting;
using Osvi.Bridge.Hosting;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>The Slack path rehearsed in memory: the event parser on a canned DM, and the mrkdwn renderer and splitter on a Markdown answer.</summary>
internal sealed class SlackHotPathRehearsal : IHotPathRehearsal
{
    private const string Event = """
        {"type":"event_callback","team_id":"T0","event_id":"Ev0","event":{"type":"message","channel_type":"im","channel":"D0","user":"U0","text":"Hello <@U1>, how are you?","ts":"1764633600.000100"}}
        """;

    public string Name => "slack";

    public Task RunAsync(CancellationToken cancellationToken)
    {
        using (var payload = JsonDocument.Parse(Event))
        {
            _ = SlackEventParser.Parse(payload.RootElement, new SlackBotIdentity("U1", "B1", "T0"));
        }
        var mrkdwn = SlackMrkdwnRenderer.Render("**Hello** _there_: `code`, [a link](https://example.com)\n\n- one\n- two\n\n```\nblock\n```");
        _ = SlackMessageSplitter.Split(mrkdwn);
        return Task.CompletedTask;
    }
}
