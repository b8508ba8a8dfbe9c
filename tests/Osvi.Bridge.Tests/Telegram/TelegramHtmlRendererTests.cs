using Osvi.Bridge.Formatting;

namespace Osvi.Bridge.Tests.Telegram;

public sealed class TelegramHtmlRendererTests
{
    [Theory]
    [InlineData("<script>alert(1)</script> & more", "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more")]
    [InlineData("a < b > c & d", "a &lt; b &gt; c &amp; d")]
    [InlineData("<b>not bold</b>", "&lt;b&gt;not bold&lt;/b&gt;")]
    [InlineData("<div>\nblock html\n</div>", "&lt;div&gt;\nblock html\n&lt;/div&gt;")]
    [InlineData("Tom &amp; Jerry", "Tom &amp; Jerry")]
    public void Hostile_or_raw_html_comes_out_escaped(string markdown, string expected) =>
        Assert.Equal(expected, TelegramHtmlRenderer.Render(markdown));

    [Theory]
    [InlineData("**bold** and __strong__", "<b>bold</b> and <b>strong</b>")]
    [InlineData("*italic* and _em_", "<i>italic</i> and <i>em</i>")]
    [InlineData("~~gone~~", "<s>gone</s>")]
    [InlineData("use `a<b>` here", "use <code>a&lt;b&gt;</code> here")]
    [InlineData("[site](https://example.com/?a=1&b=\"2\")", "<a href=\"https://example.com/?a=1&amp;b=&quot;2&quot;\">site</a>")]
    [InlineData("<https://example.com>", "<a href=\"https://example.com\">https://example.com</a>")]
    [InlineData("[bad](javascript:alert(1))", "bad")]
    [InlineData("# Title\n\ntext", "<b>Title</b>\n\ntext")]
    [InlineData("> quoted\n> > nested", "<blockquote>quoted\n\nnested</blockquote>")]
    public void Markdown_becomes_telegram_html(string markdown, string expected) =>
        Assert.Equal(expected, TelegramHtmlRenderer.Render(markdown));

    [Fact]
    public void Code_blocks_become_pre_with_the_language_class_and_escaped_content()
    {
        Assert.Equal("<pre><code class=\"language-csharp\">if (a &lt; b &amp;&amp; c) { }</code></pre>",
            TelegramHtmlRenderer.Render("```csharp\nif (a < b && c) { }\n```"));
        Assert.Equal("<pre>plain &lt;code&gt;</pre>", TelegramHtmlRenderer.Render("```\nplain <code>\n```"));
    }

    [Fact]
    public void Lists_become_bullet_and_numbered_lines()
    {
        Assert.Equal("• one\n• **two**".Replace("**two**", "<b>two</b>", StringComparison.Ordinal),
            TelegramHtmlRenderer.Render("- one\n- **two**"));
        Assert.Equal("3. three\n4. four", TelegramHtmlRenderer.Render("3. three\n4. four"));
        Assert.Equal("• outer\n  • inner", TelegramHtmlRenderer.Render("- outer\n  - inner"));
    }

    [Fact]
    public void Paragraphs_are_separated_by_a_blank_line_and_line_breaks_kept()
    {
        Assert.Equal("first line\nsecond line\n\nnext paragraph", TelegramHtmlRenderer.Render("first line\nsecond line\n\nnext paragraph"));
    }

    [Fact]
    public void A_table_becomes_a_monospaced_block_with_its_cells_escaped()
    {
        const string table = "| a | b & c |\n|---|---|\n| `x` | <y> |";
        Assert.True(TelegramHtmlRenderer.HasTable(table));
        Assert.False(TelegramHtmlRenderer.HasTable("a | b"));
        Assert.Equal("<pre>a | b &amp; c\n--+------\nx | &lt;y&gt;</pre>", TelegramHtmlRenderer.Render(table));
    }
}
