using Osvi.Bridge.Formatting;

namespace Osvi.Bridge.Tests.Slack;

public sealed class SlackMrkdwnRendererTests
{
    [Theory]
    [InlineData("**bold**", "*bold*")]
    [InlineData("__bold__", "*bold*")]
    [InlineData("*italic*", "_italic_")]
    [InlineData("_italic_", "_italic_")]
    [InlineData("~~gone~~", "~gone~")]
    [InlineData("use `x < y`", "use `x &lt; y`")]
    [InlineData("[Docs](https://example.com/a?b=1&c=2)", "<https://example.com/a?b=1&amp;c=2|Docs>")]
    [InlineData("<https://example.com>", "<https://example.com|https://example.com>")]
    [InlineData("snake_case_name stays", "snake_case_name stays")]
    [InlineData("**bold with *italic* inside**", "*bold with _italic_ inside*")]
    public void Converts_inline_markdown(string markdown, string expected) =>
        Assert.Equal(expected, SlackMrkdwnRenderer.Render(markdown));

    [Fact]
    public void Escapes_hostile_text_so_nothing_becomes_markup_or_a_mention()
    {
        var rendered = SlackMrkdwnRenderer.Render("<script>alert(1)</script> & <@U123> <!channel>");
        Assert.Equal("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;@U123&gt; &lt;!channel&gt;", rendered);
        Assert.DoesNotContain('<', rendered);
        Assert.DoesNotContain('>', rendered);
    }

    [Fact]
    public void Escapes_raw_html_blocks()
    {
        var rendered = SlackMrkdwnRenderer.Render("<div>\n<b>hi</b>\n</div>");
        Assert.Equal("&lt;div&gt;\n&lt;b&gt;hi&lt;/b&gt;\n&lt;/div&gt;", rendered);
    }

    [Fact]
    public void Renders_fenced_code_blocks_escaped_and_without_language()
    {
        var rendered = SlackMrkdwnRenderer.Render("Look:\n\n```csharp\nif (a < b && c) { }\n```");
        Assert.Equal("Look:\n\n```\nif (a &lt; b &amp;&amp; c) { }\n```", rendered);
    }

    [Fact]
    public void Renders_lists_headings_and_quotes()
    {
        var markdown = "# Title\n\n- one\n- **two**\n\n3. three\n4. four\n\n> quoted\n> text";
        var rendered = SlackMrkdwnRenderer.Render(markdown);
        Assert.Equal("*Title*\n\n• one\n• *two*\n\n3. three\n4. four\n\n> quoted\n> text", rendered);
    }

    [Fact]
    public void Indents_nested_lists()
    {
        var rendered = SlackMrkdwnRenderer.Render("- outer\n  - inner\n- next");
        Assert.Equal("• outer\n    • inner\n• next", rendered);
    }

    [Fact]
    public void Keeps_line_breaks_inside_a_paragraph()
    {
        Assert.Equal("line one\nline two", SlackMrkdwnRenderer.Render("line one\nline two"));
    }

    [Fact]
    public void Plain_text_passes_through()
    {
        Assert.Equal("Hello, world! 5 + 3 = 8", SlackMrkdwnRenderer.Render("Hello, world! 5 + 3 = 8"));
    }

    [Fact]
    public void A_table_becomes_a_code_block_with_aligned_columns()
    {
        Assert.Equal("Prices:\n\n```\nplan  | price\n------+------\nBasic | 5 &lt;€&gt;\nPro   | 12\n```",
            SlackMrkdwnRenderer.Render("Prices:\n\n| plan | price |\n|---|---|\n| Basic | 5 <€> |\n| Pro | **12** |"));
    }

    [Fact]
    public void Pipes_without_a_header_rule_stay_text()
    {
        Assert.Equal("a | b", SlackMrkdwnRenderer.Render("a | b"));
    }
}
