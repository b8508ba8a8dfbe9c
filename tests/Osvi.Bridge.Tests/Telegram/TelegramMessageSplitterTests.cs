using System.Text;
using System.Text.RegularExpressions;
using Osvi.Bridge.Formatting;

namespace Osvi.Bridge.Tests.Telegram;

public sealed partial class TelegramMessageSplitterTests
{
    [Fact]
    public void A_short_message_stays_one_chunk()
    {
        var html = TelegramHtmlRenderer.Render("hello **world**");
        Assert.Equal([html], TelegramMessageSplitter.Split(html, 4096));
    }

    [Fact]
    public void A_ten_thousand_character_reply_is_split_losslessly_into_valid_chunks()
    {
        var markdown = LongReply(12_000);
        var html = TelegramHtmlRenderer.Render(markdown);
        var whole = TelegramMessageSplitter.ToPlainText(html);
        Assert.True(whole.Length >= 10_000);

        var chunks = TelegramMessageSplitter.Split(html, 4000);

        Assert.True(chunks.Count >= 3);
        Assert.All(chunks, c => Assert.True(TelegramMessageSplitter.PlainLength(c) <= 4000));
        Assert.All(chunks, c => Assert.True(TelegramMessageSplitter.ToPlainText(c).Length <= TelegramMessageSplitter.TelegramMaxLength));
        Assert.All(chunks, AssertBalanced);
        Assert.Equal(whole, string.Concat(chunks.Select(TelegramMessageSplitter.ToPlainText)));
    }

    [Fact]
    public void A_code_block_longer_than_the_limit_is_closed_and_reopened()
    {
        var code = string.Join('\n', Enumerable.Range(0, 400).Select(i => $"line {i} <tag> & stuff"));
        var html = TelegramHtmlRenderer.Render("```python\n" + code + "\n```");

        var chunks = TelegramMessageSplitter.Split(html, 1000);

        Assert.True(chunks.Count > 1);
        Assert.All(chunks, AssertBalanced);
        Assert.All(chunks, c => Assert.StartsWith("<pre><code class=\"language-python\">", c, StringComparison.Ordinal));
        Assert.All(chunks, c => Assert.EndsWith("</code></pre>", c, StringComparison.Ordinal));
        Assert.Equal(TelegramMessageSplitter.ToPlainText(html), string.Concat(chunks.Select(TelegramMessageSplitter.ToPlainText)));
    }

    [Fact]
    public void Text_without_spaces_is_cut_between_characters_but_never_inside_an_entity_or_surrogate_pair()
    {
        var text = string.Concat(Enumerable.Repeat("a&b😀<", 500));
        var html = TelegramHtmlRenderer.Render(text);

        var chunks = TelegramMessageSplitter.Split(html, 101);

        Assert.All(chunks, c => Assert.True(TelegramMessageSplitter.PlainLength(c) <= 101));
        Assert.All(chunks, c => Assert.DoesNotMatch(EntityCut(), c));
        Assert.All(chunks, c => Assert.False(char.IsHighSurrogate(c[^1])));
        Assert.Equal(TelegramMessageSplitter.ToPlainText(html), string.Concat(chunks.Select(TelegramMessageSplitter.ToPlainText)));
    }

    [Fact]
    public void Splits_prefer_paragraph_boundaries()
    {
        var markdown = new string('a', 60) + "\n\n" + new string('b', 60);
        var chunks = TelegramMessageSplitter.Split(TelegramHtmlRenderer.Render(markdown), 100);
        Assert.Equal([new string('a', 60) + "\n\n", new string('b', 60)], chunks);
    }

    private static string LongReply(int length)
    {
        var builder = new StringBuilder();
        var i = 0;
        while (builder.Length < length)
        {
            builder.Append((i % 5) switch
            {
                0 => $"## Section {i}\n\nSome **bold text {i}** and *italic* with `code<{i}>` & a [link](https://example.com/{i}).\n\n",
                1 => $"- item {i} one\n- item {i} two with **bold**\n- item {i} three\n\n",
                2 => $"```js\nconsole.log('{i}' < 2 && true);\n```\n\n",
                3 => $"> quote {i} that goes on for a while so that lines get long enough to matter here\n\n",
                _ => string.Concat(Enumerable.Repeat($"Plain sentence number {i} with words. ", 12)) + "\n\n",
            });
            i++;
        }
        return builder.ToString();
    }

    private static void AssertBalanced(string chunk)
    {
        var stack = new Stack<string>();
        foreach (Match tag in Tag().Matches(chunk))
        {
            var name = tag.Groups["name"].Value;
            if (tag.Groups["close"].Success)
            {
                Assert.True(stack.Count > 0, $"unexpected </{name}> in chunk");
                Assert.Equal(stack.Pop(), name);
            }
            else
            {
                stack.Push(name);
            }
        }
        Assert.Empty(stack);
    }

    [GeneratedRegex("<(?<close>/)?(?<name>[a-z]+)[^>]*>")]
    private static partial Regex Tag();

    [GeneratedRegex("&[a-z]*$")]
    private static partial Regex EntityCut();
}
