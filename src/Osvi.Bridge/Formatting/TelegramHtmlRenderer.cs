using System.Globalization;
using System.Text;
using Markdig;
using Markdig.Extensions.EmphasisExtras;
using Markdig.Extensions.Tables;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace Osvi.Bridge.Formatting;

/// <summary>
/// Renders the agent's Markdown as the small HTML subset Telegram accepts (<c>parse_mode=HTML</c>).
/// Every character that is not our own markup is escaped, so raw HTML in the agent's text arrives as
/// text and can never open a tag Telegram would refuse.
/// </summary>
public static class TelegramHtmlRenderer
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder()
        .UseEmphasisExtras(EmphasisExtraOptions.Strikethrough)
        .UsePipeTables()
        .Build();

    private static readonly string[] SafeSchemes = ["http://", "https://", "tg://", "mailto:"];

    /// <summary>True when the Markdown holds a table (sent with <c>sendRichMessage</c> where Telegram takes it).</summary>
    public static bool HasTable(string markdown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        return markdown.Contains('|', StringComparison.Ordinal) && MarkdownTableLayout.HasTable(Markdown.Parse(markdown, Pipeline));
    }

    public static string Render(string markdown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        var document = Markdown.Parse(markdown, Pipeline);
        var writer = new Writer();
        writer.Blocks(document, "\n\n");
        return writer.ToString();
    }

    /// <summary>Escapes text for Telegram HTML; quotes too, so the same helper serves attributes.</summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(text.Length + 16);
        AppendEscaped(builder, text);
        return builder.ToString();
    }

    private static void AppendEscaped(StringBuilder builder, ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            _ = c switch
            {
                '<' => builder.Append("&lt;"),
                '>' => builder.Append("&gt;"),
                '&' => builder.Append("&amp;"),
                '"' => builder.Append("&quot;"),
                _ => builder.Append(c),
            };
        }
    }

    private sealed class Writer
    {
        private readonly StringBuilder _html = new();
        private int _quoteDepth;
        private int _listDepth;

        public override string ToString() => _html.ToString();

        public void Blocks(ContainerBlock container, string separator)
        {
            var first = true;
            foreach (var block in container)
            {
                if (block is LinkReferenceDefinitionGroup or BlankLineBlock)
                {
                    continue;
                }
                if (!first)
                {
                    _html.Append(separator);
                }
                first = false;
                Block(block);
            }
        }

        private void Block(Block block)
        {
            switch (block)
            {
                case HeadingBlock heading:
                    _html.Append("<b>");
                    Inlines(heading.Inline);
                    _html.Append("</b>");
                    break;
                case ParagraphBlock paragraph:
                    Inlines(paragraph.Inline);
                    break;
                case QuoteBlock quote:
                    // Telegram refuses nested blockquotes: only the outermost one becomes a tag.
                    if (_quoteDepth++ == 0)
                    {
                        _html.Append("<blockquote>");
                    }
                    Blocks(quote, "\n\n");
                    if (--_quoteDepth == 0)
                    {
                        _html.Append("</blockquote>");
                    }
                    break;
                case ListBlock list:
                    List(list);
                    break;
                case FencedCodeBlock fenced:
                    Code(fenced.Lines.ToString(), fenced.Info);
                    break;
                case CodeBlock code:
                    Code(code.Lines.ToString(), null);
                    break;
                case Table table:
                    // Telegram's HTML has no tables: a monospaced block keeps the columns.
                    _html.Append("<pre>");
                    AppendEscaped(_html, MarkdownTableLayout.Layout(table));
                    _html.Append("</pre>");
                    break;
                case ThematicBreakBlock:
                    _html.Append("———");
                    break;
                case HtmlBlock html:
                    AppendEscaped(_html, html.Lines.ToString());
                    break;
                case LeafBlock leaf when leaf.Inline is not null:
                    Inlines(leaf.Inline);
                    break;
                case LeafBlock leaf:
                    AppendEscaped(_html, leaf.Lines.ToString());
                    break;
                case ContainerBlock container:
                    Blocks(container, "\n\n");
                    break;
            }
        }

        private void List(ListBlock list)
        {
            var number = list.IsOrdered && int.TryParse(list.OrderedStart, NumberStyles.Integer, CultureInfo.InvariantCulture, out var start) ? start : 1;
            var indent = new string(' ', _listDepth * 2);
            _listDepth++;
            var first = true;
            foreach (var item in list.OfType<ListItemBlock>())
            {
                if (!first)
                {
                    _html.Append('\n');
                }
                first = false;
                _html.Append(indent).Append(list.IsOrdered ? number++.ToString(CultureInfo.InvariantCulture) + ". " : "• ");
                Blocks(item, "\n");
            }
            _listDepth--;
        }

        private void Code(string code, string? language)
        {
            var text = code.TrimEnd('\n');
            if (string.IsNullOrWhiteSpace(language))
            {
                _html.Append("<pre>");
                AppendEscaped(_html, text);
                _html.Append("</pre>");
                return;
            }
            _html.Append("<pre><code class=\"language-");
            AppendEscaped(_html, language.Trim());
            _html.Append("\">");
            AppendEscaped(_html, text);
            _html.Append("</code></pre>");
        }

        private void Inlines(ContainerInline? container)
        {
            if (container is null)
            {
                return;
            }
            foreach (var inline in container)
            {
                Inline(inline);
            }
        }

        private void Inline(Inline inline)
        {
            switch (inline)
            {
                case LiteralInline literal:
                    AppendEscaped(_html, literal.Content.AsSpan());
                    break;
                case EmphasisInline emphasis:
                    var tag = emphasis.DelimiterChar == '~' ? "s" : emphasis.DelimiterCount >= 2 ? "b" : "i";
                    _html.Append('<').Append(tag).Append('>');
                    Inlines(emphasis);
                    _html.Append("</").Append(tag).Append('>');
                    break;
                case CodeInline code:
                    _html.Append("<code>");
                    AppendEscaped(_html, code.Content);
                    _html.Append("</code>");
                    break;
                case LinkInline link:
                    Link(link);
                    break;
                case AutolinkInline autolink:
                    var url = autolink.IsEmail ? "mailto:" + autolink.Url : autolink.Url;
                    Anchor(url, () => AppendEscaped(_html, autolink.Url));
                    break;
                case LineBreakInline:
                    _html.Append('\n');
                    break;
                case HtmlInline html:
                    AppendEscaped(_html, html.Tag);
                    break;
                case HtmlEntityInline entity:
                    AppendEscaped(_html, entity.Transcoded.AsSpan());
                    break;
                case ContainerInline container:
                    Inlines(container);
                    break;
                default:
                    AppendEscaped(_html, inline.ToString() ?? "");
                    break;
            }
        }

        private void Link(LinkInline link)
        {
            var url = link.GetDynamicUrl?.Invoke() ?? link.Url ?? "";
            void Label()
            {
                if (link.FirstChild is null)
                {
                    AppendEscaped(_html, url);
                }
                else
                {
                    Inlines(link);
                }
            }
            Anchor(url, Label);
        }

        private void Anchor(string url, Action label)
        {
            // Telegram rejects the whole message for a link it cannot use; keep the label as text then.
            if (!SafeSchemes.Any(s => url.StartsWith(s, StringComparison.OrdinalIgnoreCase)))
            {
                label();
                return;
            }
            _html.Append("<a href=\"");
            AppendEscaped(_html, url);
            _html.Append("\">");
            label();
            _html.Append("</a>");
        }
    }
}
