namespace Osvi.Bridge.Formatting;

/// <summary>
/// Cuts rendered mrkdwn into messages of at most <see cref="DefaultMaxLength"/> characters, at a
/// paragraph, else a line, else a word boundary (a hard cut only for one endless word). Only the
/// separator whitespace at a cut is dropped. A code block cut in two is closed with <c>```</c> at
/// the end of one chunk and reopened at the start of the next, so every chunk renders on its own.
/// Links (<c>&lt;…&gt;</c>), entities (<c>&amp;amp;</c>) and surrogate pairs are never cut.
/// </summary>
public static class SlackMessageSplitter
{
    /// <summary>Slack's advice for <c>chat.postMessage</c> text.</summary>
    public const int DefaultMaxLength = 4000;

    private const string Fence = "```";
    private const string Reopen = Fence + "\n";
    private const string Close = "\n" + Fence;

    public static IReadOnlyList<string> Split(string text, int maxLength = DefaultMaxLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 32);
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        var chunks = new List<string>();
        var rest = text.AsMemory();
        var insideCode = false;
        while (rest.Length > 0)
        {
            var prefix = insideCode ? Reopen : "";
            if (prefix.Length + rest.Length <= maxLength)
            {
                chunks.Add(prefix + rest.ToString());
                break;
            }

            // Always leave room for a closing fence; the budget is what the piece itself may take.
            var budget = maxLength - prefix.Length - Close.Length;
            var (end, next) = FindCut(rest.Span, budget);
            var piece = rest[..end].ToString();
            var endsInsideCode = insideCode ^ (CountFences(piece) % 2 == 1);
            var chunk = prefix + piece + (endsInsideCode ? Close : "");
            if (!string.IsNullOrWhiteSpace(piece))
            {
                chunks.Add(chunk);
            }
            insideCode = endsInsideCode;
            rest = rest[next..];
        }
        return chunks;
    }

    /// <summary>Where the piece ends and where the next one starts (the separator between them is dropped).</summary>
    private static (int End, int Next) FindCut(ReadOnlySpan<char> text, int budget)
    {
        var window = text[..budget];
        var half = budget / 2;
        foreach (var minimum in new[] { half, 1 })
        {
            foreach (var separator in new[] { "\n\n", "\n", " " })
            {
                var at = LastOutsideLink(text, window, separator, minimum);
                if (at >= minimum)
                {
                    return (at, at + separator.Length);
                }
            }
        }
        var hard = HardCut(text, budget);
        return (hard, hard);
    }

    private static int LastOutsideLink(ReadOnlySpan<char> text, ReadOnlySpan<char> window, string separator, int minimum)
    {
        var limit = window.Length;
        while (limit > minimum)
        {
            var at = window[..limit].LastIndexOf(separator, StringComparison.Ordinal);
            if (at < minimum)
            {
                return -1;
            }
            if (!InsideLink(text, at))
            {
                return at;
            }
            limit = at;
        }
        return -1;
    }

    private static int HardCut(ReadOnlySpan<char> text, int budget)
    {
        var end = budget;
        if (char.IsHighSurrogate(text[end - 1]))
        {
            end--;
        }
        var amp = text[..end].LastIndexOf('&');
        if (amp > 0 && end - amp <= 6 && text[amp..end].IndexOf(';') < 0)
        {
            end = amp;
        }
        var open = text[..end].LastIndexOf('<');
        if (open > 0 && open > text[..end].LastIndexOf('>'))
        {
            end = open;
        }
        return end;
    }

    // Every '<' in rendered mrkdwn starts a link or mention (literal ones are escaped as &lt;).
    private static bool InsideLink(ReadOnlySpan<char> text, int index)
    {
        var before = text[..index];
        var open = before.LastIndexOf('<');
        return open >= 0 && open > before.LastIndexOf('>');
    }

    private static int CountFences(string piece)
    {
        var count = 0;
        for (var at = piece.IndexOf(Fence, StringComparison.Ordinal); at >= 0; at = piece.IndexOf(Fence, at + Fence.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }
}
