using Osvi.Bridge.Handoff;

namespace Osvi.Bridge.Tests.Handoff;

public sealed class OperatorCommandTests
{
    [Theory]
    [InlineData("Hello, I can help", OperatorAction.Message, "Hello, I can help")]
    [InlineData("  !takeover ", OperatorAction.Takeover, "")]
    [InlineData("!END", OperatorAction.End, "")]
    [InlineData("!close", OperatorAction.Close, "")]
    [InlineData("!whisper offer 10% off", OperatorAction.Whisper, "offer 10% off")]
    [InlineData("!tell\napologize for the delay", OperatorAction.Tell, "apologize for the delay")]
    public void Commands_and_plain_words_are_told_apart(string text, OperatorAction action, string argument)
    {
        Assert.Equal(new OperatorCommand(action, argument), OperatorCommand.Parse(text));
    }

    [Theory]
    [InlineData("!whisper", "!whisper needs the text")]
    [InlineData("!tell   ", "!tell needs the text")]
    [InlineData("!handback", "!handback is not a command")]
    public void A_command_without_its_text_or_an_unknown_one_is_invalid_and_says_why(string text, string problem)
    {
        var command = OperatorCommand.Parse(text);

        Assert.Equal(OperatorAction.Invalid, command.Action);
        Assert.StartsWith(problem, command.Text, StringComparison.Ordinal);
    }
}
