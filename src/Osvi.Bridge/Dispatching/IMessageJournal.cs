namespace Osvi.Bridge.Dispatching;

/// <summary>
/// The per-message record that makes a replay safe: the replies decided for the message (the agent's
/// answer once OSVI gave it) and how far their delivery got, so that an attempt after a crash or a
/// platform outage sends only what is missing and does not ask the agent again. The inbox keeps it
/// while the message is in the inbox (in Redis with the durable inbox) and removes it with the message.
/// </summary>
public interface IMessageJournal
{
    /// <summary>What earlier attempts recorded; <see cref="MessageRecord.Empty"/> for a fresh message.</summary>
    MessageRecord Record { get; }

    /// <summary>Stores the record; returns once it is durable.</summary>
    Task SaveAsync(MessageRecord record, CancellationToken cancellationToken);
}

/// <summary>
/// <see cref="Replies"/> are the texts to send, in order; <see cref="Final"/> says no more will be added
/// (the agent's answer is among them). <see cref="RepliesDone"/> were delivered whole and, of the next,
/// <see cref="PartsDone"/> platform messages.
/// </summary>
public sealed record MessageRecord(IReadOnlyList<string> Replies, bool Final, int RepliesDone, int PartsDone)
{
    public static readonly MessageRecord Empty = new([], false, 0, 0);

    public MessageRecord Append(string reply, bool final) => this with { Replies = [.. Replies, reply], Final = final };
}

/// <summary>A journal kept in memory only: enough for retries within one process (the in-memory inbox).</summary>
public sealed class InMemoryMessageJournal : IMessageJournal
{
    public MessageRecord Record { get; private set; } = MessageRecord.Empty;

    public Task SaveAsync(MessageRecord record, CancellationToken cancellationToken)
    {
        Record = record;
        return Task.CompletedTask;
    }
}
