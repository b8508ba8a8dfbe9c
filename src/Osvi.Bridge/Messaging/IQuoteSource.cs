namespace Osvi.Bridge.Messaging;

/// <summary>
/// A platform's way to find the text a new conversation's first message refers to when its event did not
/// carry it (a Slack thread's parent): asked by the relay once, when the conversation's session is created,
/// so it costs one platform call per conversation, not per message.
/// </summary>
public interface IQuoteSource
{
    /// <summary>The platform this source serves; matches <see cref="InboundMessage.Platform"/>.</summary>
    string Platform { get; }

    /// <summary>The bot or app this source reads as; matches <see cref="InboundMessage.Instance"/> (empty: the platform's default entry).</summary>
    string Instance => "";

    /// <summary>The quoted text, or null when there is none worth giving the agent (the bot's own words, no thread).</summary>
    Task<string?> FindAsync(InboundMessage message, CancellationToken cancellationToken);
}
