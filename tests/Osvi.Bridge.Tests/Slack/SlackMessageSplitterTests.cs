using System.Text;
using Osvi.Bridge.Formatting;

namespace Osvi.Bridge.Tests.Slack;

public sealed class SlackMessageSplitterTests
{
    private static string[] Words(string text) =>
        text.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Where(w => w != "```").ToArray();

    private static int Fences(string chunk)
    {
        var count = 0;
        for (var at = chunk.IndexOf("```", StringComparison.Ordinal); at >= 0; at = chunk.IndexOf("```", at + 3, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }

    [Fact]
    public void Short_text_is_one_chunk()
    {
        Assert.Equal(["hello"], SlackMessageSplitter.Split("hello"));
        Assert.Empty(SlackMessageSplitter.Split("   "));
    }

    [Fact]
    public void A_12000_character_reply_is_split_losslessly_at_paragraphs()
    {
        var text = new StringBuilder();
        var n = 0;
        while (text.Length < 12_000)
        {
            text.Append("Paragraph ").Append(n++).Append(": ").Append(string.Join(' ', Enumerable.Repeat("lorem ipsum dolor", 12))).Append("\n\n");
        }
        var original = text.ToString().TrimEnd();

        var chunks = SlackMessageSplitter.Split(original);

        Assert.InRange(chunks.Count, 3, 5);
        Assert.All(chunks, c => Assert.InRange(c.Length, 1, 4000));
        Assert.Equal(original, string.Join("\n\n", chunks));
    }

    [Fact]
    public void A_long_code_block_is_closed_and_reopened_in_every_chunk()
    {
        var code = string.Join('\n', Enumerable.Range(0, 600).Select(i => $"var line{i} = {i} * 2; // some code"));
        var original = "Here is the code:\n\n```\n" + code + "\n```\n\nThat was it.";

        var chunks = SlackMessageSplitter.Split(original);

        Assert.True(chunks.Count >= 5);
        Assert.All(chunks, c => Assert.InRange(c.Length, 1, 4000));
        Assert.All(chunks, c => Assert.Equal(0, Fences(c) % 2));
        Assert.Equal(Words(original), Words(string.Join("\n", chunks)));
        Assert.StartsWith("```\n", chunks[1], StringComparison.Ordinal);
        Assert.EndsWith("That was it.", chunks[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void One_endless_line_is_split_at_words()
    {
        var original = string.Join(' ', Enumerable.Range(0, 3000).Select(i => "word" + i));

        var chunks = SlackMessageSplitter.Split(original);

        Assert.All(chunks, c => Assert.InRange(c.Length, 1, 4000));
        Assert.Equal(original, string.Join(' ', chunks));
    }

    [Fact]
    public void A_word_longer_than_a_message_is_cut_without_breaking_entities_or_surrogates()
    {
        var original = string.Concat(Enumerable.Repeat("ab&amp;😀", 2000));

        var chunks = SlackMessageSplitter.Split(original);

        Assert.All(chunks, c => Assert.InRange(c.Length, 1, 4000));
        Assert.Equal(original, string.Concat(chunks));
        Assert.All(chunks, c =>
        {
            Assert.False(char.IsHighSurrogate(c[^1]));
            Assert.False(char.IsLowSurrogate(c[0]));
            Assert.Equal(c.Split('&').Length - 1, System.Text.RegularExpressions.Regex.Matches(c, "&amp;").Count);
        });
    }

    [Fact]
    public void Links_are_not_cut_in_the_middle()
    {
        var link = "<https://example.com/page|a link with several words in it>";
        var original = string.Join(' ', Enumerable.Repeat("text " + link, 200));

        var chunks = SlackMessageSplitter.Split(original);

        Assert.All(chunks, c => Assert.Equal(c.Count(ch => ch == '<'), c.Count(ch => ch == '>')));
        Assert.Equal(original, string.Join(' ', chunks));
    }
}
