using System.Globalization;
using System.Text;
using Markdig;
using Markdig.Extensions.EmphasisExtras;
using Markdig.Extensions.Tables;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace Osvi.Bridge.Formatting;

/// <summary>
/// Renders the agent's Markdown as Slack mrkdwn: <c>*bold*</c>, <c>_italic_</c>, <c>~strike~</c>,
/// code, <c>&lt;url|text&gt;</c> links, "• " / "1. " lists, bold headings and <c>&gt;</c> quotes.
/// Every piece of text has <c>&amp; &lt; &gt;</c> escaped, so nothing the agent writes (raw HTML,
/// <c>&lt;@U123&gt;</c>, <c>&lt;!channel&gt;</c>) can turn into a mention or markup in Slack.
/// </summary>
public static class SlackMrkdwnRenderer
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder()
        .UseEmphasisExtras(EmphasisExtraOptions.Strikethrough)
        .UsePipeTables()
        .Build();

    public static string Render(string markdown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        var document = Markdown.Parse(markdown, Pipeline);
        return JoinBlocks(document, "\n\n", depth: 0).Trim('\n');
    }

    /// <summary>Escapes the three characters Slack treats as markup.</summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Replace("&", "&amp;", StringComparison.Ordinal)
            .Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal);
    }

    private static string JoinBlocks(ContainerBlock container, string separator, int depth) =>
        string.Join(separator, container.Select(b => RenderBlock(b, depth)).Where(s => !string.IsNullOrEmpty(s)));

    private static string? RenderBlock(Block block, int depth)
    {
        switch (block)
        {
            case HeadingBlock heading:
                var title = RenderInlines(heading.Inline, insideBold: true);
                return title.Length == 0 ? null : $"*{title}*";
            case ParagraphBlock paragraph:
                return RenderInlines(paragraph.Inline, insideBold: false);
            case CodeBlock code:
                // Slack has no languages on code blocks; the fence stays on its own line so the splitter can see it.
                return "```\n" + Escape(code.Lines.ToString()) + "\n```";
            case HtmlBlock html:
                return Escape(html.Lines.ToString());
            case Table table:
                // mrkdwn has no tables: a code block keeps the columns on every client.
                return "```\n" + Escape(MarkdownTableLayout.Layout(table)) + "\n```";
            case ThematicBreakBlock:
                return "───";
            case QuoteBlock quote:
                var inner = JoinBlocks(quote, "\n\n", depth);
                return string.Join('\n', inner.Split('\n').Select(line => line.Length == 0 ? ">" : "> " + line));
            case ListBlock list:
                return RenderList(list, depth);
            case LinkReferenceDefinitionGroup:
            case BlankLineBlock:
                return null;
            case ContainerBlock container:
                return JoinBlocks(container, "\n\n", depth);
            case LeafBlock leaf:
                return leaf.Inline is not null ? RenderInlines(leaf.Inline, insideBold: false) : Escape(leaf.Lines.ToString());
            default:
                return null;
        }
    }

    private static string RenderList(ListBlock list, int depth)
    {
        var indent = new string(' ', depth * 4);
        var number = list.IsOrdered && int.TryParse(list.OrderedStart, NumberStyles.Integer, CultureInfo.InvariantCulture, out var start) ? start : 1;
        var lines = new List<string>();
        foreach (var item in list.OfType<ListItemBlock>())
        {
            var marker = list.IsOrdered ? $"{number++}. " : "• ";
            var first = true;
            foreach (var child in item)
            {
                if (child is ListBlock nested)
                {
                    lines.Add(RenderList(nested, depth + 1));
                    continue;
                }
                var text = RenderBlock(child, depth + 1);
                if (string.IsNullOrEmpty(text))
                {
                    continue;
                }
                var childLines = text.Split('\n');
                for (var i = 0; i < childLines.Length; i++)
                {
                    var prefix = first && i == 0 ? indent + marker : indent + new string(' ', marker.Length);
                    lines.Add(prefix + childLines[i]);
                }
                first = false;
            }
            if (first)
            {
                lines.Add(indent + marker.TrimEnd());
            }
        }
        return string.Join('\n', lines);
    }

    private static string RenderInlines(ContainerInline? container, bool insideBold)
    {
        if (container is null)
        {
            return "";
        }
        var builder = new StringBuilder();
        foreach (var inline in container)
        {
            RenderInline(inline, builder, insideBold);
        }
        return builder.ToString();
    }

    private static void RenderInline(Inline inline, StringBuilder builder, bool insideBold)
    {
        switch (inline)
        {
            case LiteralInline literal:
                builder.Append(Escape(literal.Content.ToString()));
                break;
            case CodeInline code:
                builder.Append('`').Append(Escape(code.Content)).Append('`');
                break;
            case EmphasisInline emphasis when emphasis.DelimiterChar == '~':
                builder.Append('~').Append(RenderInlines(emphasis, insideBold)).Append('~');
                break;
            case EmphasisInline emphasis when emphasis.DelimiterCount >= 2:
                // Slack has no nested bold: "*a *b* c*" would break, so bold inside bold is plain.
                builder.Append(insideBold ? RenderInlines(emphasis, true) : "*" + RenderInlines(emphasis, true) + "*");
                break;
            case EmphasisInline emphasis:
                builder.Append('_').Append(RenderInlines(emphasis, insideBold)).Append('_');
                break;
            case LinkInline link:
                builder.Append(RenderLink(link, insideBold));
                break;
            case AutolinkInline autolink:
                var target = autolink.IsEmail ? "mailto:" + autolink.Url : autolink.Url;
                builder.Append('<').Append(EscapeUrl(target)).Append('|').Append(Escape(autolink.Url)).Append('>');
                break;
            case LineBreakInline:
                builder.Append('\n');
                break;
            case HtmlInline html:
                builder.Append(Escape(html.Tag));
                break;
            case HtmlEntityInline entity:
                builder.Append(Escape(entity.Transcoded.ToString()));
                break;
            case ContainerInline container:
                builder.Append(RenderInlines(container, insideBold));
                break;
            default:
                builder.Append(Escape(inline.ToString() ?? ""));
                break;
        }
    }

    private static string RenderLink(LinkInline link, bool insideBold)
    {
        var text = RenderInlines(link, insideBold);
        var url = link.GetDynamicUrl?.Invoke() ?? link.Url;
        if (string.IsNullOrWhiteSpace(url))
        {
            return text;
        }
        return text.Length == 0 ? $"<{EscapeUrl(url)}>" : $"<{EscapeUrl(url)}|{text.Replace("|", "¦", StringComparison.Ordinal)}>";
    }

    // '|' would end the URL part of <url|text> early.
    private static string EscapeUrl(string url) => Escape(url).Replace("|", "%7C", StringComparison.Ordinal);
}
