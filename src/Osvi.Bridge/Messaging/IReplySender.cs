namespace Osvi.Bridge.Messaging;

/// <summary>
/// The sending half of a channel adapter: the relay hands it Markdown text and it delivers it to
/// the platform (formatting, splitting, pacing and platform errors are the adapter's business).
/// </summary>
public interface IReplySender
{
    /// <summary>The platform this sender serves; matches <see cref="InboundMessage.Platform"/>.</summary>
    string Platform { get; }

    /// <summary>The bot or app this sender speaks as; matches <see cref="InboundMessage.Instance"/> (empty: the platform's default entry).</summary>
    string Instance => "";

    /// <summary>
    /// Delivers the agent's Markdown text. Throws <see cref="ReplyDeliveryException"/> when the
    /// platform refused it for good (blocked, chat gone); transient failures are retried inside.
    /// </summary>
    Task SendAsync(ReplyTarget target, string markdown, CancellationToken cancellationToken);

    /// <summary>
    /// Delivers the text as <see cref="SendAsync(ReplyTarget, string, CancellationToken)"/> does, but skips
    /// the first <see cref="ReplyProgress.PartsDone"/> platform messages (a replay after a crash) and
    /// reports each delivered one, so that a replay repeats nothing the user already saw. Transient
    /// failures (connection, 5xx, a rate limit beyond its budget) are thrown after a few quick tries: the
    /// inbox keeps the message and tries again later. A sender that cannot split its progress treats the
    /// whole text as one part.
    /// </summary>
    async Task SendAsync(ReplyTarget target, string markdown, ReplyProgress progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        if (progress.PartsDone > 0)
        {
            return;
        }
        await SendAsync(target, markdown, cancellationToken);
        await progress.Delivered(1, 1, cancellationToken);
    }

    /// <summary>
    /// Shows that the agent is working (typing indicator, placeholder) until the returned handle
    /// is disposed or a reply is sent.
    /// </summary>
    Task<IAsyncDisposable> ShowProgressAsync(ReplyTarget target, CancellationToken cancellationToken);
}

/// <summary>
/// Where a reply's delivery stands: <see cref="PartsDone"/> platform messages were delivered before;
/// <see cref="Delivered"/> is told (delivered so far, total) after each further one.
/// </summary>
public sealed record ReplyProgress(int PartsDone, Func<int, int, CancellationToken, Task> Delivered)
{
    /// <summary>A fresh reply whose progress nobody records.</summary>
    public static readonly ReplyProgress None = new(0, static (_, _, _) => Task.CompletedTask);
}

/// <summary>A reply the platform refused for good; the relay logs it and does not retry.</summary>
public sealed class ReplyDeliveryException : Exception
{
    public ReplyDeliveryException() { }
    public ReplyDeliveryException(string message) : base(message) { }
    public ReplyDeliveryException(string message, Exception innerException) : base(message, innerException) { }
}
