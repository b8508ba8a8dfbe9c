using Osvi.Bridge.Handoff;

namespace Osvi.Bridge.Tests.Handoff;

public sealed class SupportPostsTests
{
    [Fact]
    public void A_help_request_names_who_asks_quotes_the_trigger_and_the_turns_before_and_escapes_everything()
    {
        var post = SupportPosts.HelpRequest("<!channel> Eve", "telegram", "telegram:1:2", "s-1", "I need a <@U1> person\nnow", "Let me find someone",
            [new RelayedTurn("hi & hello", "Hello!")]);

        Assert.StartsWith(":sos: *Help requested* by *&lt;!channel&gt; Eve* (telegram, `telegram:1:2`, session `s-1`)", post, StringComparison.Ordinal);
        Assert.Contains("> I need a &lt;@U1&gt; person\n> now", post, StringComparison.Ordinal);
        Assert.Contains("_The agent answered:_ Let me find someone", post, StringComparison.Ordinal);
        Assert.Contains("• *&lt;!channel&gt; Eve:* hi &amp; hello\n• *Agent:* Hello!", post, StringComparison.Ordinal);
        Assert.EndsWith(SupportPosts.Commands, post, StringComparison.Ordinal);
        Assert.DoesNotContain("<!channel>", post, StringComparison.Ordinal);
    }

    [Fact]
    public void Long_quotes_are_shortened()
    {
        var post = SupportPosts.HelpRequest("Ann", "slack", "slack:T1:D1", "s", new string('x', 2000), "", []);

        Assert.Contains(new string('x', SupportPosts.QuoteLength) + "…", post, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('x', SupportPosts.QuoteLength + 1), post, StringComparison.Ordinal);
    }

    [Fact]
    public void A_mirrored_turn_escapes_the_user_and_renders_the_agents_markdown()
    {
        Assert.Equal("*Ann:* a &lt; b\n*Agent:* *yes*", SupportPosts.Mirror("Ann", "a < b", "**yes**"));
        Assert.Equal("*Ann:* thanks", SupportPosts.Mirror("Ann", "thanks", ""));
    }
}
