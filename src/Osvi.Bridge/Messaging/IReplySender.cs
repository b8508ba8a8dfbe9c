namespace Osvi.Bridge.Messaging;

/// <summary>
/// The sending half of a channel adapter: the relay hands it Markdown text and it delivers it to
/// the platform (formatting, splitting, pacing and platform errors are the adapter's business).
/// </summary>
public interface IReplySender
{
    /// <summary>The platform this sender serves; matches <see cref="InboundMessage.Platform"/>.</summary>
    string Platform { get; }

    /// <summary>
    /// Delivers the agent's Markdown text. Throws <see cref="ReplyDeliveryException"/> when the
    /// platform refused it for good (blocked, chat gone); transient failures are retried inside.
    /// </summary>
    Task SendAsync(ReplyTarget target, string markdown, CancellationToken cancellationToken);

    /// <summary>
    /// Shows that the agent is working (typing indicator, placeholder) until the returned handle
    /// is disposed or a reply is sent.
    /// </summary>
    Task<IAsyncDisposable> ShowProgressAsync(ReplyTarget target, CancellationToken cancellationToken);
}

/// <summary>A reply the platform refused for good; the relay logs it and does not retry.</summary>
public sealed class ReplyDeliveryException : Exception
{
    public ReplyDeliveryException() { }
    public ReplyDeliveryException(string message) : base(message) { }
    public ReplyDeliveryException(string message, Exception innerException) : base(message, innerException) { }
}
