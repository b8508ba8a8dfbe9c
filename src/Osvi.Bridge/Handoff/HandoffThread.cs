using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Handoff;

/// <summary>
/// One session's support thread: where it is in the support channel (<see cref="Channel"/>, <see cref="ThreadTs"/>),
/// whose conversation it is and where that user is answered, and how far the handoff got.
/// </summary>
/// <param name="SessionId">The OSVI session the thread belongs to (one thread per session).</param>
/// <param name="Channel">The support channel.</param>
/// <param name="ThreadTs">The <c>ts</c> of the thread's first post.</param>
/// <param name="Platform">The user's platform; selects the reply sender for operator messages.</param>
/// <param name="Conversation">The user's conversation key.</param>
/// <param name="ChatId">Where the user is answered.</param>
/// <param name="ThreadId">The user's topic or thread, if any.</param>
/// <param name="DisplayName">The user's name as the operators see it.</param>
/// <param name="RequestedAt">When the thread was opened (the help request).</param>
public sealed record HandoffThread(
    string SessionId,
    string Channel,
    string ThreadTs,
    string Platform,
    string Conversation,
    string ChatId,
    string? ThreadId,
    string DisplayName,
    DateTimeOffset RequestedAt)
{
    /// <summary>An operator took the conversation over (support mode) and has not handed it back.</summary>
    public bool OperatorActive { get; init; }

    /// <summary>The session was closed from the thread; the thread only gets a note from then on.</summary>
    public bool Closed { get; init; }

    public ReplyTarget UserTarget => new(ChatId, ThreadId);

    public ConversationKey ConversationKey => new(Conversation);
}

/// <summary>One exchange the bridge relayed in a session, shown to operators when help is requested.</summary>
public sealed record RelayedTurn(string UserText, string AgentReply);
