using System.Globalization;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Relay;

/// <summary>
/// What the agent is asked for a message that quotes another: the quoted text, marked and cut to
/// <c>Bridge:MaxQuoteLength</c>, before the user's words, so that "yes, that one" has its referent.
/// </summary>
public static class QuotedContext
{
    public static string ForAgent(InboundMessage message, BridgeOptions options)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(options);
        var quote = message.Quote?.Trim();
        if (!options.QuotedContext || string.IsNullOrEmpty(quote) || options.MaxQuoteLength == 0)
        {
            return message.Text;
        }
        if (quote.Length > options.MaxQuoteLength)
        {
            var cut = options.MaxQuoteLength;
            if (char.IsHighSurrogate(quote[cut - 1]))
            {
                cut--;
            }
            quote = quote[..cut].TrimEnd() + "…";
        }
        // One line, so the marker stays a single clearly bounded prefix whatever the quote holds.
        quote = quote.ReplaceLineEndings(" ");
        return string.Create(CultureInfo.InvariantCulture, $"[Replying to: \"{quote}\"]\n{message.Text}");
    }
}
