namespace Osvi.Bridge.Messaging;

/// <summary>
/// Looks up the sender's name for a new session's <c>person_name</c>, for a platform whose events do
/// not carry it (Slack sends only the user id). Called when a session is started, never on the path
/// that acknowledges the platform; a platform without one uses <see cref="InboundMessage.DisplayName"/>.
/// </summary>
public interface IDisplayNameResolver
{
    /// <summary>The platform served; matches <see cref="InboundMessage.Platform"/>.</summary>
    string Platform { get; }

    /// <summary>The bot or app whose view of the platform it reads; matches <see cref="InboundMessage.Instance"/>.</summary>
    string Instance => "";

    /// <summary>The name to show the agent; falls back (to the user id) rather than fail.</summary>
    Task<string> ResolveAsync(InboundMessage message, CancellationToken cancellationToken);
}
