using System.Collections.Concurrent;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.IntegrationTests.Infrastructure;

/// <summary>
/// A channel for core tests: messages go straight into the real inbox and replies are recorded.
/// It stands in for a platform adapter, not for anything under test.
/// </summary>
public sealed class RecordingChannel : IReplySender
{
    public const string Name = "test";
    private int _progressShown;

    public string Platform => Name;

    public ConcurrentQueue<SentReply> Replies { get; } = new();

    public int ProgressShown => Volatile.Read(ref _progressShown);

    /// <summary>Fails a send as the platform would (e.g. a connection error) when it returns an exception.</summary>
    public Func<string, Exception?>? FailWith { get; set; }

    public Task SendAsync(ReplyTarget target, string markdown, CancellationToken cancellationToken)
    {
        if (FailWith?.Invoke(markdown) is { } failure)
        {
            throw failure;
        }
        Replies.Enqueue(new SentReply(target.ChatId, markdown));
        return Task.CompletedTask;
    }

    public Task<IAsyncDisposable> ShowProgressAsync(ReplyTarget target, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _progressShown);
        return Task.FromResult<IAsyncDisposable>(new Done());
    }

    public IReadOnlyList<string> RepliesTo(string chat) => Replies.Where(r => r.Chat == chat).Select(r => r.Text).ToList();

    public static InboundMessage Message(string chat, string text, string? id = null) =>
        new(Name, ConversationKey.Create(Name, chat), id ?? Guid.NewGuid().ToString("N"), "user-" + chat, "Jane Smith", text, new ReplyTarget(chat));

    public sealed record SentReply(string Chat, string Text);

    private sealed class Done : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
