using System.Text.Json;
using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Tests.Handoff;

/// <summary>How the Slack parser tells operators' posts in the support channel from users' messages.</summary>
public sealed class SupportChannelParsingTests
{
    private static readonly SlackBotIdentity Bot = new("UBOT", "BBOT", "T1");

    private static SlackParseResult Parse(string eventJson, string? supportChannel = "CSUP")
    {
        using var doc = JsonDocument.Parse($$"""{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{{eventJson}}}""");
        return SlackEventParser.Parse(doc.RootElement.Clone(), Bot, supportChannel);
    }

    [Fact]
    public void A_reply_in_a_support_thread_is_an_operator_post_of_that_thread()
    {
        var result = Parse("""{"type":"message","channel_type":"channel","channel":"CSUP","user":"U9","text":"on it &amp; soon","ts":"301.1","thread_ts":"300.1"}""");

        var message = Assert.IsType<SlackUserMessage>(result.Message);
        Assert.Equal(SlackEventParser.SupportPlatform, message.Platform);
        Assert.Equal(new ConversationKey("slack-support:T1:CSUP:300.1"), message.Conversation);
        Assert.Equal("CSUP:301.1", message.MessageId);
        Assert.Equal("on it & soon", message.Text);
        Assert.Equal(new ReplyTarget("CSUP", "300.1", "301.1"), message.ReplyTarget);
    }

    [Fact]
    public void A_mention_of_the_app_in_a_support_thread_is_the_same_operator_post()
    {
        var mention = Parse("""{"type":"app_mention","channel":"CSUP","user":"U9","text":"<@UBOT> !end","ts":"301.1","thread_ts":"300.1"}""").Message!;
        var message = Parse("""{"type":"message","channel_type":"channel","channel":"CSUP","user":"U9","text":"<@UBOT> !end","ts":"301.1","thread_ts":"300.1"}""").Message!;

        Assert.Equal((message.Platform, message.MessageId, message.Conversation), (mention.Platform, mention.MessageId, mention.Conversation));
        Assert.Equal("!end", mention.Text);
    }

    [Theory]
    [InlineData("""{"type":"message","channel_type":"channel","channel":"CSUP","user":"U9","text":"top level","ts":"300.1"}""", "outside a thread")]
    [InlineData("""{"type":"message","channel_type":"channel","channel":"CSUP","user":"UBOT","bot_id":"BBOT","text":"our own","ts":"301.1","thread_ts":"300.1"}""", "bot")]
    [InlineData("""{"type":"message","channel_type":"channel","channel":"CSUP","user":"UX","bot_id":"BX","text":"other bot","ts":"301.1","thread_ts":"300.1"}""", "bot")]
    [InlineData("""{"type":"message","subtype":"message_changed","channel":"CSUP","ts":"301.2"}""", "subtype")]
    public void Top_level_posts_bots_and_edits_in_the_support_channel_are_ignored(string ev, string reason)
    {
        var result = Parse(ev);

        Assert.Null(result.Message);
        Assert.Contains(reason, result.IgnoredReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_support_channel_a_thread_reply_in_a_channel_is_ignored_as_before()
    {
        var result = Parse("""{"type":"message","channel_type":"channel","channel":"CSUP","user":"U9","text":"hi","ts":"301.1","thread_ts":"300.1"}""", supportChannel: null);

        Assert.Null(result.Message);
    }

    [Fact]
    public void Other_channels_keep_their_rules_when_a_support_channel_is_set()
    {
        Assert.Null(Parse("""{"type":"message","channel_type":"channel","channel":"C1","user":"U1","text":"hi","ts":"301.1","thread_ts":"300.1"}""").Message);
        Assert.Equal("slack", Parse("""{"type":"app_mention","channel":"C1","user":"U1","text":"<@UBOT> hi","ts":"200.1"}""").Message!.Platform);
    }
}
