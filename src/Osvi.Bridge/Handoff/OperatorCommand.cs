namespace Osvi.Bridge.Handoff;

/// <summary>What an operator's post in a support thread asks for.</summary>
public enum OperatorAction
{
    /// <summary>Plain words for the user (taking the conversation over first if needed).</summary>
    Message,
    Takeover,
    End,
    Whisper,
    Tell,
    Close,

    /// <summary>A <c>!word</c> the bridge does not know, or a command without its text: the thread gets the usage.</summary>
    Invalid,
}

/// <summary>An operator's post, parsed: the action and its text (the words, the guidance, or what was wrong).</summary>
public sealed record OperatorCommand(OperatorAction Action, string Text)
{
    /// <summary>
    /// <c>!takeover</c>, <c>!end</c>, <c>!close</c>, <c>!whisper &lt;text&gt;</c>, <c>!tell &lt;text&gt;</c> (any case, the
    /// text on the same or the next lines); anything not starting with <c>!</c> is a message for the user.
    /// </summary>
    public static OperatorCommand Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (!trimmed.StartsWith('!'))
        {
            return new OperatorCommand(OperatorAction.Message, trimmed);
        }
        var end = trimmed.AsSpan().IndexOfAny(' ', '\n', '\t');
        var word = (end < 0 ? trimmed[1..] : trimmed[1..end]).ToLowerInvariant();
        var rest = end < 0 ? "" : trimmed[(end + 1)..].Trim();
        return word switch
        {
            "takeover" => new OperatorCommand(OperatorAction.Takeover, rest),
            "end" => new OperatorCommand(OperatorAction.End, rest),
            "close" => new OperatorCommand(OperatorAction.Close, rest),
            "whisper" or "tell" when rest.Length == 0 => new OperatorCommand(OperatorAction.Invalid, $"!{word} needs the text for the agent: !{word} <text>"),
            "whisper" => new OperatorCommand(OperatorAction.Whisper, rest),
            "tell" => new OperatorCommand(OperatorAction.Tell, rest),
            _ => new OperatorCommand(OperatorAction.Invalid, $"!{word} is not a command here."),
        };
    }
}
