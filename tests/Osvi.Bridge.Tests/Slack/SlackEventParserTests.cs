using System.Text.Json;
using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Tests.Slack;

public sealed class SlackEventParserTests
{
    private static readonly SlackBotIdentity Bot = new("UBOT", "BBOT", "T1");

    private static SlackParseResult Parse(string eventJson, string team = "T1")
    {
        using var doc = JsonDocument.Parse($$"""{"type":"event_callback","team_id":"{{team}}","event_id":"Ev1","event":{{eventJson}}}""");
        return SlackEventParser.Parse(doc.RootElement.Clone(), Bot);
    }

    [Fact]
    public void A_dm_is_one_conversation_answered_in_the_dm()
    {
        var result = Parse("""{"type":"message","channel_type":"im","channel":"D1","user":"U1","text":"hello &amp; welcome","ts":"100.1"}""");

        var message = Assert.IsType<SlackUserMessage>(result.Message);
        Assert.Equal(new ConversationKey("slack:T1:D1"), message.Conversation);
        Assert.Equal("D1:100.1", message.MessageId);
        Assert.Equal("U1", message.UserId);
        Assert.Equal("hello & welcome", message.Text);
        Assert.Equal(new ReplyTarget("D1", null, "100.1"), message.ReplyTarget);
    }

    [Fact]
    public void A_dm_written_in_a_thread_is_answered_in_that_thread_but_keeps_the_dm_conversation()
    {
        var result = Parse("""{"type":"message","channel_type":"im","channel":"D1","user":"U1","text":"more","ts":"101.1","thread_ts":"100.1"}""");

        var message = Assert.IsType<SlackUserMessage>(result.Message);
        Assert.Equal(new ConversationKey("slack:T1:D1"), message.Conversation);
        Assert.Equal("100.1", message.ReplyTarget.ThreadId);
    }

    [Fact]
    public void A_channel_mention_opens_a_conversation_for_its_thread()
    {
        var result = Parse("""{"type":"app_mention","channel":"C1","user":"U1","text":"<@UBOT> what is &lt;b&gt;?","ts":"200.1"}""");

        var message = Assert.IsType<SlackUserMessage>(result.Message);
        Assert.Equal(new ConversationKey("slack:T1:C1:200.1"), message.Conversation);
        Assert.Equal("what is <b>?", message.Text);
        Assert.Equal(new ReplyTarget("C1", "200.1", "200.1"), message.ReplyTarget);
    }

    [Fact]
    public void A_later_mention_in_the_thread_continues_the_same_conversation()
    {
        var first = Parse("""{"type":"app_mention","channel":"C1","user":"U1","text":"<@UBOT> hi","ts":"200.1"}""").Message!;
        var later = Parse("""{"type":"app_mention","channel":"C1","user":"U2","text":"<@UBOT|osvi> and then?","ts":"205.3","thread_ts":"200.1"}""").Message!;

        Assert.Equal(first.Conversation, later.Conversation);
        Assert.Equal("200.1", later.ReplyTarget.ThreadId);
        Assert.Equal("and then?", later.Text);
        Assert.NotEqual(first.MessageId, later.MessageId);
    }

    [Fact]
    public void Other_user_mentions_stay_in_the_text()
    {
        var message = Parse("""{"type":"app_mention","channel":"C1","user":"U1","text":"<@UBOT> ask <@U777> too","ts":"200.1"}""").Message!;
        Assert.Equal("ask <@U777> too", message.Text);
    }

    [Fact]
    public void The_same_mention_as_app_mention_and_as_message_has_one_message_id()
    {
        var mention = Parse("""{"type":"app_mention","channel":"C1","user":"U1","text":"<@UBOT> hi","ts":"300.1"}""").Message!;
        var asMessage = Parse("""{"type":"message","channel_type":"channel","channel":"C1","user":"U1","text":"<@UBOT> hi","ts":"300.1"}""");

        Assert.Equal("C1:300.1", mention.MessageId);
        Assert.Null(asMessage.Message); // Channel messages never trigger on their own.
    }

    [Theory]
    [InlineData("""{"type":"message","channel_type":"im","channel":"D1","user":"UBOT","text":"my own","ts":"1.1"}""", "own message")]
    [InlineData("""{"type":"message","channel_type":"im","channel":"D1","user":"U9","bot_id":"B9","text":"other bot","ts":"1.1"}""", "sent by a bot")]
    [InlineData("""{"type":"message","channel_type":"im","channel":"D1","bot_id":"BBOT","text":"our post","ts":"1.1"}""", "sent by a bot")]
    [InlineData("""{"type":"message","subtype":"bot_message","channel_type":"im","channel":"D1","text":"x","ts":"1.1"}""", "subtype bot_message")]
    [InlineData("""{"type":"message","subtype":"message_changed","hidden":true,"channel_type":"im","channel":"D1","ts":"1.1"}""", "subtype message_changed")]
    [InlineData("""{"type":"message","subtype":"message_deleted","hidden":true,"channel_type":"im","channel":"D1","ts":"1.1"}""", "subtype message_deleted")]
    [InlineData("""{"type":"message","subtype":"channel_join","channel_type":"channel","channel":"C1","user":"U1","ts":"1.1"}""", "subtype channel_join")]
    [InlineData("""{"type":"message","channel_type":"channel","channel":"C1","user":"U1","text":"chatter","ts":"1.1"}""", "channel message without app_mention")]
    [InlineData("""{"type":"reaction_added","user":"U1"}""", "event type reaction_added")]
    public void Ignores_bots_itself_subtypes_and_channel_chatter(string eventJson, string reason)
    {
        var result = Parse(eventJson);
        Assert.Null(result.Message);
        Assert.Equal(reason, result.IgnoredReason);
    }

    [Fact]
    public void Ignores_payloads_that_are_not_event_callbacks()
    {
        using var doc = JsonDocument.Parse("""{"type":"url_verification","challenge":"x"}""");
        Assert.Null(SlackEventParser.Parse(doc.RootElement, Bot).Message);
    }

    [Fact]
    public void Unescapes_ampersand_last()
    {
        Assert.Equal("&lt; is literal", SlackEventParser.CleanText("&amp;lt; is literal", "UBOT"));
    }
}
