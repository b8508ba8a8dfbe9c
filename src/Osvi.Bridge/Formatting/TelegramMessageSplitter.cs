using System.Text;

namespace Osvi.Bridge.Formatting;

/// <summary>
/// Splits Telegram HTML (as produced by <see cref="TelegramHtmlRenderer"/>) into messages that fit
/// Telegram's limit, which counts UTF-16 units of the text after entity parsing (tags do not count,
/// <c>&amp;lt;</c> counts one). Breaks at a paragraph, else a line, else a word, else anywhere
/// between characters; never inside a tag, an entity or a surrogate pair. Tags open at a break are
/// closed at the end of the chunk and reopened at the start of the next, so every chunk is valid on
/// its own, and the chunks' plain texts concatenate to the whole plain text.
/// </summary>
public static class TelegramMessageSplitter
{
    /// <summary>Telegram's hard limit for one text message.</summary>
    public const int TelegramMaxLength = 4096;

    public static IReadOnlyList<string> Split(string html, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(html);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 16);
        var tokens = Tokenize(html);
        if (tokens.Sum(t => t.PlainLength) <= maxLength)
        {
            return [html];
        }

        var chunks = new List<string>();
        var open = new List<Token>();
        var i = 0;
        while (i < tokens.Count)
        {
            var end = FindEnd(html, tokens, i, maxLength);
            var chunk = new StringBuilder();
            foreach (var tag in open)
            {
                chunk.Append(html, tag.Start, tag.Length);
            }
            chunk.Append(html, tokens[i].Start, tokens[end - 1].Start + tokens[end - 1].Length - tokens[i].Start);
            for (var k = i; k < end; k++)
            {
                Track(open, tokens[k]);
            }
            for (var k = open.Count - 1; k >= 0; k--)
            {
                chunk.Append("</").Append(open[k].Name).Append('>');
            }
            chunks.Add(chunk.ToString());
            i = end;
        }
        return chunks;
    }

    /// <summary>The text Telegram shows for this HTML: tags removed, entities decoded.</summary>
    public static string ToPlainText(string html)
    {
        ArgumentNullException.ThrowIfNull(html);
        var plain = new StringBuilder(html.Length);
        foreach (var token in Tokenize(html))
        {
            if (token.Kind != TokenKind.Text)
            {
                continue;
            }
            if (html[token.Start] == '&')
            {
                plain.Append(Decode(html.AsSpan(token.Start, token.Length)));
            }
            else
            {
                plain.Append(html, token.Start, token.Length);
            }
        }
        return plain.ToString();
    }

    /// <summary>The length Telegram counts for this HTML (UTF-16 units after entity parsing).</summary>
    public static int PlainLength(string html)
    {
        ArgumentNullException.ThrowIfNull(html);
        return Tokenize(html).Sum(t => t.PlainLength);
    }

    private static int FindEnd(string html, List<Token> tokens, int start, int maxLength)
    {
        var plain = 0;
        int paragraph = -1, line = -1, word = -1;
        var previousNewline = false;
        var j = start;
        for (; j < tokens.Count; j++)
        {
            var token = tokens[j];
            if (token.Kind != TokenKind.Text)
            {
                continue;
            }
            if (plain + token.PlainLength > maxLength)
            {
                break;
            }
            plain += token.PlainLength;
            var c = html[token.Start];
            if (c == '\n')
            {
                if (previousNewline)
                {
                    paragraph = j + 1;
                }
                line = j + 1;
            }
            else if (c == ' ')
            {
                word = j + 1;
            }
            previousNewline = c == '\n';
        }
        if (j == tokens.Count)
        {
            return j;
        }

        var end = paragraph > start ? paragraph : line > start ? line : word > start ? word : j;
        // Opening tags just before the break belong to the next chunk, closing tags just after it to this one.
        while (end > start + 1 && tokens[end - 1].Kind == TokenKind.Open)
        {
            end--;
        }
        while (end < tokens.Count && tokens[end].Kind == TokenKind.Close)
        {
            end++;
        }
        return end;
    }

    private static void Track(List<Token> open, Token token)
    {
        if (token.Kind == TokenKind.Open)
        {
            open.Add(token);
        }
        else if (token.Kind == TokenKind.Close)
        {
            var index = open.FindLastIndex(t => t.Name == token.Name);
            if (index >= 0)
            {
                open.RemoveAt(index);
            }
        }
    }

    private static List<Token> Tokenize(string html)
    {
        var tokens = new List<Token>(html.Length);
        var i = 0;
        while (i < html.Length)
        {
            var c = html[i];
            if (c == '<' && html.IndexOf('>', i) is var close and > 0)
            {
                var isClose = i + 1 < html.Length && html[i + 1] == '/';
                var nameStart = isClose ? i + 2 : i + 1;
                var nameEnd = nameStart;
                while (nameEnd < close && char.IsAsciiLetterOrDigit(html[nameEnd]))
                {
                    nameEnd++;
                }
                tokens.Add(new Token(isClose ? TokenKind.Close : TokenKind.Open, i, close - i + 1, 0, html[nameStart..nameEnd]));
                i = close + 1;
            }
            else if (c == '&' && html.IndexOf(';', i) is var semicolon and > 0 && semicolon - i <= 10)
            {
                tokens.Add(new Token(TokenKind.Text, i, semicolon - i + 1, 1, null));
                i = semicolon + 1;
            }
            else if (char.IsHighSurrogate(c) && i + 1 < html.Length && char.IsLowSurrogate(html[i + 1]))
            {
                tokens.Add(new Token(TokenKind.Text, i, 2, 2, null));
                i += 2;
            }
            else
            {
                tokens.Add(new Token(TokenKind.Text, i, 1, 1, null));
                i++;
            }
        }
        return tokens;
    }

    private static string Decode(ReadOnlySpan<char> entity) => entity switch
    {
        "&lt;" => "<",
        "&gt;" => ">",
        "&amp;" => "&",
        "&quot;" => "\"",
        _ => System.Net.WebUtility.HtmlDecode(entity.ToString()),
    };

    private enum TokenKind
    {
        Text,
        Open,
        Close,
    }

    private readonly record struct Token(TokenKind Kind, int Start, int Length, int PlainLength, string? Name);
}
