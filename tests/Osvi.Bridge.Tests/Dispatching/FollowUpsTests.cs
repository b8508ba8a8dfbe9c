using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Relay;

namespace Osvi.Bridge.Tests.Dispatching;

public sealed class FollowUpsTests
{
    private static InboundMessage Message(string text, string user = "u1", string id = "1") =>
        new("telegram", ConversationKey.Create("telegram", "7:1"), id, user, "Jane", text, new ReplyTarget("1", null, id));

    private static ConversationBacklog<InboundMessage> Backlog(params InboundMessage[] messages)
    {
        var backlog = new ConversationBacklog<InboundMessage>(m => m, _ => true);
        foreach (var message in messages)
        {
            backlog.Add("c", message);
        }
        return backlog;
    }

    [Fact]
    public void Queued_plain_texts_of_one_sender_make_one_turn_joined_with_newlines_answered_at_the_latest()
    {
        var turn = Backlog(Message("a", id: "1"), Message("b", id: "2"), Message("c", id: "3")).TakeTurn("c", merge: true, maxLength: 100);

        var joined = FollowUps.Join(turn);
        Assert.Equal("a\nb\nc", joined.Text);
        Assert.Equal("1", joined.MessageId);
        Assert.Equal("3", joined.ReplyTarget.ReplyToMessageId);
    }

    [Fact]
    public void Commands_other_senders_quotes_and_overlong_joins_start_their_own_turn()
    {
        var backlog = Backlog(Message("a"), Message("/reset"), Message("b"), Message("c", user: "u2"), Message("d", user: "u2"),
            Message("e", user: "u2") with { Quote = "earlier" }, Message("f"), Message(new string('x', 99)));

        Assert.Equal(["a"], backlog.TakeTurn("c", true, 100).Select(m => m.Text));
        Assert.Equal(["/reset"], backlog.TakeTurn("c", true, 100).Select(m => m.Text));
        Assert.Equal(["b"], backlog.TakeTurn("c", true, 100).Select(m => m.Text));
        Assert.Equal(["c", "d"], backlog.TakeTurn("c", true, 100).Select(m => m.Text));
        Assert.Equal(["e"], backlog.TakeTurn("c", true, 100).Select(m => m.Text));
        Assert.Equal(["f"], backlog.TakeTurn("c", true, 100).Select(m => m.Text));
        Assert.Single(backlog.TakeTurn("c", true, 100));
        Assert.Empty(backlog.TakeTurn("c", true, 100));
    }

    [Fact]
    public void Operator_posts_and_bang_commands_are_never_merged()
    {
        var post = Message("first") with { Platform = global::Osvi.Bridge.Adapters.Slack.SlackEventParser.SupportPlatform };
        Assert.False(FollowUps.CanJoin(post, post with { Text = "second" }, 5, 100));
        Assert.False(FollowUps.CanJoin(Message("note"), Message("!end"), 4, 100));
        Assert.True(FollowUps.CanJoin(Message("note"), Message("more"), 4, 100));
    }

    [Fact]
    public void Without_merging_every_message_is_its_own_turn_and_a_taken_turn_leaves_nothing()
    {
        var backlog = Backlog(Message("a"), Message("b"));

        Assert.Single(backlog.TakeTurn("c", merge: false, maxLength: 100));
        Assert.Single(backlog.TakeTurn("c", merge: false, maxLength: 100));
        Assert.Empty(backlog.TakeTurn("c", merge: false, maxLength: 100));
    }

    [Fact]
    public void A_quote_goes_before_the_words_marked_on_one_line_and_cut_to_the_limit()
    {
        var options = new BridgeOptions { MaxQuoteLength = 10 };
        var message = Message("yes, that one") with { Quote = "Plan A:\nfly to Rome on Monday" };

        Assert.Equal("[Replying to: \"Plan A: fl…\"]\nyes, that one", QuotedContext.ForAgent(message, options));
        Assert.Equal("yes, that one", QuotedContext.ForAgent(message, new BridgeOptions { QuotedContext = false }));
        Assert.Equal("yes, that one", QuotedContext.ForAgent(message with { Quote = null }, options));
    }
}
