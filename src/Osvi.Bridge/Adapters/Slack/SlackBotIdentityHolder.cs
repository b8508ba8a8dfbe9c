namespace Osvi.Bridge.Adapters.Slack;

/// <summary>Holds the bot's identity once <c>auth.test</c> answered; events are refused until then.</summary>
public sealed class SlackBotIdentityHolder
{
    private SlackBotIdentity? _current;

    public SlackBotIdentity? Current => Volatile.Read(ref _current);

    public void Set(SlackBotIdentity identity) => Volatile.Write(ref _current, identity);
}
