using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Adapters.Console;

/// <summary>The operator's terminal as a channel: replies are printed as they arrive.</summary>
public sealed class ConsoleReplySender(TextWriter output) : IReplySender
{
    public const string PlatformName = "console";

    public string Platform => PlatformName;

    public async Task SendAsync(ReplyTarget target, string markdown, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        await output.WriteLineAsync(("agent> " + markdown.Replace("\n", "\n       ", StringComparison.Ordinal)).AsMemory(), cancellationToken);
        await output.FlushAsync(cancellationToken);
    }

    public Task<IAsyncDisposable> ShowProgressAsync(ReplyTarget target, CancellationToken cancellationToken) =>
        Task.FromResult<IAsyncDisposable>(NoProgress.Instance);

    private sealed class NoProgress : IAsyncDisposable
    {
        public static readonly NoProgress Instance = new();
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
