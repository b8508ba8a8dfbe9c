using System.Text.Json.Nodes;

namespace Osvi.Bridge.IntegrationTests.Slack;

/// <summary>Events API payloads as Slack sends them (the same in Socket Mode and over HTTP).</summary>
public static class SlackEvents
{
    private static int _counter;

    public static JsonObject Callback(JsonObject ev, string? eventId = null) => new()
    {
        ["token"] = "deprecated",
        ["team_id"] = FakeSlackServer.TeamId,
        ["api_app_id"] = "A1",
        ["type"] = "event_callback",
        ["event_id"] = eventId ?? $"Ev{Interlocked.Increment(ref _counter):D6}",
        ["event_time"] = 1_800_000_000,
        ["event"] = ev,
    };

    public static JsonObject Dm(string user, string text, string ts, string channel = "D1", string? threadTs = null, string? eventId = null)
    {
        var ev = new JsonObject
        {
            ["type"] = "message",
            ["channel_type"] = "im",
            ["channel"] = channel,
            ["user"] = user,
            ["text"] = text,
            ["ts"] = ts,
            ["event_ts"] = ts,
        };
        if (threadTs is not null)
        {
            ev["thread_ts"] = threadTs;
        }
        return Callback(ev, eventId);
    }

    public static JsonObject Mention(string user, string text, string ts, string channel = "C1", string? threadTs = null, string? eventId = null)
    {
        var ev = new JsonObject
        {
            ["type"] = "app_mention",
            ["channel"] = channel,
            ["user"] = user,
            ["text"] = $"<@{FakeSlackServer.BotUserId}> {text}",
            ["ts"] = ts,
            ["event_ts"] = ts,
        };
        if (threadTs is not null)
        {
            ev["thread_ts"] = threadTs;
        }
        return Callback(ev, eventId);
    }

    /// <summary>The same mention as a plain channel message (subscribed to message.channels too).</summary>
    public static JsonObject ChannelMessage(string user, string text, string ts, string channel = "C1") => Callback(new JsonObject
    {
        ["type"] = "message",
        ["channel_type"] = "channel",
        ["channel"] = channel,
        ["user"] = user,
        ["text"] = text,
        ["ts"] = ts,
    });

    /// <summary>A message in a channel thread (subscribed to message.channels), as an operator writes in the support channel.</summary>
    public static JsonObject ThreadReply(string user, string text, string ts, string threadTs, string channel, string? botId = null)
    {
        var ev = new JsonObject
        {
            ["type"] = "message",
            ["channel_type"] = "channel",
            ["channel"] = channel,
            ["user"] = user,
            ["text"] = text,
            ["ts"] = ts,
            ["thread_ts"] = threadTs,
            ["event_ts"] = ts,
        };
        if (botId is not null)
        {
            ev["bot_id"] = botId;
        }
        return Callback(ev);
    }

    public static JsonObject Raw(JsonObject ev) => Callback(ev);
}
