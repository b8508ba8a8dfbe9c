using System.Text;
using Markdig.Extensions.Tables;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace Osvi.Bridge.Formatting;

/// <summary>
/// Lays a Markdown table out as plain monospaced text (columns padded, a rule under the header), for
/// platforms that show tables only in a code block: readable on every client, and lossless as text.
/// </summary>
public static class MarkdownTableLayout
{
    public static string Layout(Table table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var rows = table.OfType<TableRow>().Select(r => r.OfType<TableCell>().Select(CellText).ToList()).ToList();
        var columns = rows.Count == 0 ? 0 : rows.Max(r => r.Count);
        var widths = new int[columns];
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Count; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }
        var text = new StringBuilder();
        for (var r = 0; r < rows.Count; r++)
        {
            if (r > 0)
            {
                text.Append('\n');
            }
            var row = rows[r];
            for (var i = 0; i < columns; i++)
            {
                var cell = i < row.Count ? row[i] : "";
                text.Append(i == 0 ? "" : " | ").Append(i == columns - 1 ? cell : cell.PadRight(widths[i]));
            }
            if (r == 0 && table.OfType<TableRow>().FirstOrDefault()?.IsHeader == true)
            {
                text.Append('\n').AppendJoin("-+-", widths.Select(w => new string('-', Math.Max(1, w))));
            }
        }
        return text.ToString().TrimEnd();
    }

    /// <summary>True when the Markdown holds a pipe table (by the same parser the renderers use).</summary>
    public static bool HasTable(MarkdownDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        return document.Descendants<Table>().Any();
    }

    private static string CellText(TableCell cell)
    {
        var text = new StringBuilder();
        foreach (var block in cell.Descendants<LeafBlock>())
        {
            if (text.Length > 0)
            {
                text.Append(' ');
            }
            if (block.Inline is not null)
            {
                AppendPlain(text, block.Inline);
            }
            else
            {
                text.Append(block.Lines.ToString());
            }
        }
        return text.ToString().Trim();
    }

    private static void AppendPlain(StringBuilder text, ContainerInline container)
    {
        foreach (var inline in container)
        {
            switch (inline)
            {
                case LiteralInline literal:
                    text.Append(literal.Content.AsSpan());
                    break;
                case CodeInline code:
                    text.Append(code.Content);
                    break;
                case AutolinkInline autolink:
                    text.Append(autolink.Url);
                    break;
                case LinkInline { FirstChild: null } link:
                    text.Append(link.Url);
                    break;
                case HtmlEntityInline entity:
                    text.Append(entity.Transcoded.AsSpan());
                    break;
                case LineBreakInline:
                    text.Append(' ');
                    break;
                case HtmlInline html:
                    text.Append(html.Tag);
                    break;
                case ContainerInline nested:
                    AppendPlain(text, nested);
                    break;
            }
        }
    }
}
