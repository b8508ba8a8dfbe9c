namespace Osvi.Bridge.Relay;

/// <summary>The bridge's own commands; anything else is text for the agent.</summary>
public enum BridgeCommand
{
    None,
    Start,
    Reset,
    Help,
}

/// <summary>Recognizes <c>/start</c>, <c>/reset</c>, <c>/new</c> and <c>/help</c>, also as <c>/cmd@botname</c> or with arguments.</summary>
public static class BridgeCommandParser
{
    public static BridgeCommand Parse(string text)
    {
        var trimmed = text.AsSpan().Trim();
        if (trimmed.Length < 2 || trimmed[0] != '/')
        {
            return BridgeCommand.None;
        }
        var end = trimmed.IndexOfAny(' ', '\n', '\t');
        var word = end < 0 ? trimmed[1..] : trimmed[1..end];
        var at = word.IndexOf('@');
        if (at >= 0)
        {
            word = word[..at];
        }
        return word switch
        {
            _ when word.Equals("start", StringComparison.OrdinalIgnoreCase) => BridgeCommand.Start,
            _ when word.Equals("reset", StringComparison.OrdinalIgnoreCase) => BridgeCommand.Reset,
            _ when word.Equals("new", StringComparison.OrdinalIgnoreCase) => BridgeCommand.Reset,
            _ when word.Equals("help", StringComparison.OrdinalIgnoreCase) => BridgeCommand.Help,
            _ => BridgeCommand.None,
        };
    }
}
