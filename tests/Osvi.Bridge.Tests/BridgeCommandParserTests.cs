using Osvi.Bridge.Relay;

namespace Osvi.Bridge.Tests;

public sealed class BridgeCommandParserTests
{
    [Theory]
    [InlineData("/start", BridgeCommand.Start)]
    [InlineData("/start@OsviBot", BridgeCommand.Start)]
    [InlineData("/start deep-link-payload", BridgeCommand.Start)]
    [InlineData("  /RESET  ", BridgeCommand.Reset)]
    [InlineData("/new", BridgeCommand.Reset)]
    [InlineData("/help", BridgeCommand.Help)]
    [InlineData("/weather tomorrow", BridgeCommand.None)]
    [InlineData("hello /start", BridgeCommand.None)]
    [InlineData("/", BridgeCommand.None)]
    [InlineData("", BridgeCommand.None)]
    public void Recognizes_bridge_commands_and_nothing_else(string text, BridgeCommand expected) =>
        Assert.Equal(expected, BridgeCommandParser.Parse(text));
}
