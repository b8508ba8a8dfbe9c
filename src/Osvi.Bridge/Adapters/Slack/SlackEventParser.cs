using System.Text.Json;
using System.Text.RegularExpressions;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// A user message the bridge should answer, before the sender's display name is looked up.
/// <see cref="MessageId"/> is <c>{channel}:{ts}</c>, so a mention delivered both as
/// <c>app_mention</c> and as <c>message</c> (different <c>event_id</c>s) is answered once.
/// </summary>
public sealed record SlackUserMessage(ConversationKey Conversation, string MessageId, string UserId, string Text, ReplyTarget ReplyTarget)
{
    /// <summary><see cref="SlackEventParser.Platform"/> for users, <see cref="SlackEventParser.SupportPlatform"/> for operators in the support channel.</summary>
    public string Platform { get; init; } = SlackEventParser.Platform;
}

/// <summary>
/// The support channel of the human handoff (<c>Handoff:SlackChannel</c>), registered only when it is set: its
/// threaded messages are operators' posts, not users' messages.
/// </summary>
public sealed record SlackSupportChannel(string ChannelId);

/// <summary>What an Events API payload means for the bridge: a message to answer, or the reason it is ignored.</summary>
public sealed record SlackParseResult(SlackUserMessage? Message, string? IgnoredReason)
{
    public static SlackParseResult Ignore(string reason) => new(null, reason);

    public static SlackParseResult Answer(SlackUserMessage message) => new(message, null);
}

/// <summary>
/// Turns an Events API <c>event_callback</c> payload (the same in Socket Mode and over HTTP) into
/// a <see cref="SlackUserMessage"/>. DMs are one conversation per DM channel; in channels only
/// <c>app_mention</c> counts, one conversation per thread. Bots (ourselves included), edits,
/// deletions, joins and every other subtype are ignored. In the support channel of the handoff, every
/// message written in a thread is an operator's post (<see cref="SupportPlatform"/>, one conversation per
/// thread); top-level messages there are ignored.
/// </summary>
public static partial class SlackEventParser
{
    public const string Platform = "slack";

    /// <summary>The platform of operators' posts in the support channel: routed to the handoff, never to the agent.</summary>
    public const string SupportPlatform = "slack-support";

    public static SlackParseResult Parse(JsonElement payload, SlackBotIdentity identity, string? supportChannel = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (payload.ValueKind != JsonValueKind.Object || Read(payload, "type") != "event_callback")
        {
            return SlackParseResult.Ignore("not an event_callback");
        }
        if (!payload.TryGetProperty("event", out var ev) || ev.ValueKind != JsonValueKind.Object)
        {
            return SlackParseResult.Ignore("no event");
        }

        var type = Read(ev, "type");
        if (type is not ("message" or "app_mention"))
        {
            return SlackParseResult.Ignore($"event type {type ?? "-"}");
        }
        if (ev.TryGetProperty("subtype", out var subtype) && subtype.ValueKind != JsonValueKind.Null)
        {
            return SlackParseResult.Ignore($"subtype {subtype}");
        }
        if (ev.TryGetProperty("bot_id", out var botId) && botId.ValueKind != JsonValueKind.Null)
        {
            return SlackParseResult.Ignore("sent by a bot");
        }

        var user = Read(ev, "user");
        var channel = Read(ev, "channel");
        var ts = Read(ev, "ts");
        if (string.IsNullOrEmpty(user) || string.IsNullOrEmpty(channel) || string.IsNullOrEmpty(ts))
        {
            return SlackParseResult.Ignore("missing user, channel or ts");
        }
        if (user == identity.UserId)
        {
            return SlackParseResult.Ignore("own message");
        }

        var team = Read(payload, "team_id") ?? identity.TeamId;
        var threadTs = Read(ev, "thread_ts");
        var text = CleanText(Read(ev, "text") ?? "", identity.UserId);
        var messageId = $"{channel}:{ts}";

        if (channel == supportChannel)
        {
            // Operators write in the threads the bridge opened; whether this is one is known only from the
            // store, when the post is handled. Subscribing to message.channels also sends a mention here as
            // app_mention: both carry the same message id and are taken once.
            if (string.IsNullOrEmpty(threadTs) || threadTs == ts)
            {
                return SlackParseResult.Ignore("support channel message outside a thread");
            }
            return SlackParseResult.Answer(new SlackUserMessage(
                ConversationKey.Create(SupportPlatform, team, channel, threadTs), messageId, user, text,
                new ReplyTarget(channel, threadTs, ts))
            {
                Platform = SupportPlatform,
            });
        }

        if (type == "message")
        {
            if (Read(ev, "channel_type") != "im")
            {
                // In channels only a mention triggers; the mention also arrives as app_mention.
                return SlackParseResult.Ignore("channel message without app_mention");
            }
            // A DM is one conversation; a reply written in a DM thread is answered in that thread.
            return SlackParseResult.Answer(new SlackUserMessage(
                ConversationKey.Create(Platform, team, channel), messageId, user, text,
                new ReplyTarget(channel, threadTs, ts)));
        }

        var thread = threadTs ?? ts;
        return SlackParseResult.Answer(new SlackUserMessage(
            ConversationKey.Create(Platform, team, channel, thread), messageId, user, text,
            new ReplyTarget(channel, thread, ts)));
    }

    /// <summary>Removes mentions of the bot and undoes Slack's <c>&amp;amp; &amp;lt; &amp;gt;</c> escaping.</summary>
    public static string CleanText(string text, string botUserId)
    {
        ArgumentNullException.ThrowIfNull(text);
        var withoutMentions = string.IsNullOrEmpty(botUserId)
            ? text
            : text.Replace($"<@{botUserId}>", "", StringComparison.Ordinal);
        withoutMentions = LabelledMention().Replace(withoutMentions, m => m.Groups["id"].Value == botUserId ? "" : m.Value);
        // &amp; last, so "&amp;lt;" becomes the literal text "&lt;".
        var unescaped = withoutMentions.Replace("&lt;", "<", StringComparison.Ordinal)
            .Replace("&gt;", ">", StringComparison.Ordinal)
            .Replace("&amp;", "&", StringComparison.Ordinal);
        return MultipleSpaces().Replace(unescaped, " ").Trim();
    }

    private static string? Read(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    [GeneratedRegex(@"<@(?<id>[A-Z0-9]+)\|[^>]*>")]
    private static partial Regex LabelledMention();

    [GeneratedRegex(@"[ \t]{2,}")]
    private static partial Regex MultipleSpaces();
}
