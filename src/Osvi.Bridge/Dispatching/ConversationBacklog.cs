using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Dispatching;

/// <summary>
/// The messages of each conversation that wait for their turn on the <see cref="ConversationScheduler"/>.
/// The inbox schedules one turn per message; a turn takes the oldest waiting message and, with
/// <c>Bridge:MergeQueuedMessages</c>, the follow-ups that queued behind it and can join it (see
/// <see cref="FollowUps.CanJoin"/>), so a user who wrote three lines while the agent was busy gets one
/// answer to all three. A turn that finds nothing left (an earlier turn took its message) does nothing.
/// A message that finds its conversation idle starts at once: nothing waits for follow-ups.
/// </summary>
public sealed class ConversationBacklog<T>(Func<T, InboundMessage?> messageOf, Func<T, bool> mayJoin)
    where T : class
{
    private readonly Dictionary<string, Queue<T>> _waiting = new(StringComparer.Ordinal);

    public void Add(string conversation, T item)
    {
        lock (_waiting)
        {
            if (!_waiting.TryGetValue(conversation, out var queue))
            {
                _waiting[conversation] = queue = new Queue<T>();
            }
            queue.Enqueue(item);
        }
    }

    /// <summary>
    /// The items of the conversation's next turn, oldest first: one, or with <paramref name="merge"/> the
    /// oldest and the follow-ups that may join it; empty when an earlier turn took them all.
    /// </summary>
    public IReadOnlyList<T> TakeTurn(string conversation, bool merge, int maxLength)
    {
        lock (_waiting)
        {
            if (!_waiting.TryGetValue(conversation, out var queue) || queue.Count == 0)
            {
                return [];
            }
            var lead = queue.Dequeue();
            var turn = new List<T> { lead };
            var leadMessage = messageOf(lead);
            if (merge && leadMessage is not null && mayJoin(lead))
            {
                var length = leadMessage.Text.Length;
                while (queue.TryPeek(out var next) && mayJoin(next) && messageOf(next) is { } follower
                       && FollowUps.CanJoin(leadMessage, follower, length, maxLength))
                {
                    turn.Add(queue.Dequeue());
                    length += 1 + follower.Text.Length;
                }
            }
            if (queue.Count == 0)
            {
                _waiting.Remove(conversation);
            }
            return turn;
        }
    }
}

/// <summary>Which queued messages of a conversation may be sent to the agent as one turn, and that turn's message.</summary>
public static class FollowUps
{
    /// <summary>
    /// A follow-up joins when it is plain text from the same sender, carries no quote of its own, and the
    /// joined text stays within <paramref name="maxLength"/>; a command (<c>/reset</c>, an operator's
    /// <c>!end</c>) is never joined, nor is anything joined to one, so it keeps its meaning and its place.
    /// Operators' posts in the support channel (<see cref="SlackEventParser.SupportPlatform"/>) are relayed
    /// to the user one by one, as written: they are not for the agent and never merged.
    /// </summary>
    public static bool CanJoin(InboundMessage lead, InboundMessage follower, int joinedLength, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(lead);
        ArgumentNullException.ThrowIfNull(follower);
        return IsPlainText(lead) && IsPlainText(follower)
            && !string.Equals(lead.Platform, SlackEventParser.SupportPlatform, StringComparison.Ordinal)
            && follower.Quote is null
            && string.Equals(lead.UserId, follower.UserId, StringComparison.Ordinal)
            && string.Equals(lead.Platform, follower.Platform, StringComparison.Ordinal)
            && joinedLength + 1 + follower.Text.Length <= maxLength;
    }

    /// <summary>
    /// One message for the turn: the lead's identity (its id names the turn's journal and de-duplication),
    /// the texts joined with newlines in arrival order, answered where the latest one asks for it.
    /// </summary>
    public static InboundMessage Join(IReadOnlyList<InboundMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentOutOfRangeException.ThrowIfZero(messages.Count);
        if (messages.Count == 1)
        {
            return messages[0];
        }
        return messages[0] with
        {
            Text = string.Join('\n', messages.Select(m => m.Text)),
            ReplyTarget = messages[^1].ReplyTarget,
        };
    }

    // Anything that looks like a command stays alone, also one the relay would not know: it may be meant as one.
    private static bool IsPlainText(InboundMessage message) =>
        !string.IsNullOrWhiteSpace(message.Text) && message.Text.TrimStart() is var text && !text.StartsWith('/') && !text.StartsWith('!');
}
