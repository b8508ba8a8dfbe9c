using System.Diagnostics;
using System.Globalization;

namespace Osvi.Bridge.Benchmarks;

/// <summary>
/// Every message the benchmark sends and what happened to it, on one clock (<see cref="Stopwatch"/>
/// timestamps of this process): t0 handed out in a getUpdates response, t1 the agent got it, t2 the
/// agent answered, t3 the reply reached Telegram. Also every chat's replies in the order they came,
/// which is how lost, duplicated and out-of-order replies are found.
/// </summary>
internal sealed class MessageLedger
{
    public const long MeasuredUsers = 1_000_000;
    public const long WarmUpUsers = 9_000_000;

    private readonly long[] _handedOut;
    private readonly long[] _agentReceived;
    private readonly long[] _agentAnswered;
    private readonly long[] _delivered;
    private readonly int[] _agentCalls;
    private readonly long[] _sessionRequested;
    private readonly long[] _sessionAnswered;
    private readonly List<int>[] _replies;
    private int _deliveredCount;
    private int _unexpectedReplies;
    private int _unexpectedAgentMessages;

    public MessageLedger(int conversations, int messagesPerConversation, long firstUserId = MeasuredUsers)
    {
        FirstUserId = firstUserId;
        Conversations = conversations;
        MessagesPerConversation = messagesPerConversation;
        Total = conversations * messagesPerConversation;
        _handedOut = new long[Total];
        _agentReceived = new long[Total];
        _agentAnswered = new long[Total];
        _delivered = new long[Total];
        _agentCalls = new int[Total];
        _sessionRequested = new long[conversations];
        _sessionAnswered = new long[conversations];
        _replies = new List<int>[conversations];
        for (var i = 0; i < conversations; i++)
        {
            _replies[i] = new List<int>(messagesPerConversation);
        }
    }

    /// <summary>Chat (= user) ids are FirstUserId + chat; warm-up chats use other ids than measured ones.</summary>
    public long FirstUserId { get; }

    public int Conversations { get; }

    public int MessagesPerConversation { get; }

    public int Total { get; }

    /// <summary>Replies that matched one of our messages (duplicates included).</summary>
    public int DeliveredCount => Volatile.Read(ref _deliveredCount);

    /// <summary>sendMessage calls whose text names none of our messages (apologies, welcomes, notices).</summary>
    public int UnexpectedReplies => Volatile.Read(ref _unexpectedReplies);

    /// <summary>send_message calls whose text names none of our messages.</summary>
    public int UnexpectedAgentMessages => Volatile.Read(ref _unexpectedAgentMessages);

    /// <summary>Messages are fed round-robin: every chat's first message, then every chat's second, ...</summary>
    public static int IndexOf(int chat, int messageNumber, int messagesPerConversation) => (chat * messagesPerConversation) + messageNumber - 1;

    public long UserIdOf(int chat) => FirstUserId + chat;

    public static string TextOf(long userId, int messageNumber) =>
        string.Create(CultureInfo.InvariantCulture, $"m{messageNumber} of chat {userId}");

    /// <summary>Finds "m{k} of chat {U}" anywhere in <paramref name="text"/> (the bridge may wrap it).</summary>
    public bool TryFind(ReadOnlySpan<char> text, out int index)
    {
        index = -1;
        var at = text.IndexOf(" of chat ", StringComparison.Ordinal);
        if (at <= 0)
        {
            return false;
        }
        var start = at - 1;
        while (start >= 0 && char.IsAsciiDigit(text[start]))
        {
            start--;
        }
        if (start < 0 || text[start] != 'm' || start == at - 1)
        {
            return false;
        }
        var numberStart = at + " of chat ".Length;
        var end = numberStart;
        while (end < text.Length && char.IsAsciiDigit(text[end]))
        {
            end++;
        }
        if (!int.TryParse(text[(start + 1)..at], NumberStyles.None, CultureInfo.InvariantCulture, out var k)
            || !long.TryParse(text[numberStart..end], NumberStyles.None, CultureInfo.InvariantCulture, out var user))
        {
            return false;
        }
        var chat = user - FirstUserId;
        if (chat < 0 || chat >= Conversations || k < 1 || k > MessagesPerConversation)
        {
            return false;
        }
        index = IndexOf((int)chat, k, MessagesPerConversation);
        return true;
    }

    public void HandedOut(int index, long timestamp) => Interlocked.CompareExchange(ref _handedOut[index], timestamp, 0);

    public void AgentReceived(string message, long timestamp, out int index)
    {
        if (!TryFind(message, out index))
        {
            Interlocked.Increment(ref _unexpectedAgentMessages);
            return;
        }
        Interlocked.Increment(ref _agentCalls[index]);
        Interlocked.CompareExchange(ref _agentReceived[index], timestamp, 0);
    }

    /// <summary>A session start for the chat whose user is named "User {id}" (the fake Telegram's first_name).</summary>
    public void SessionStarted(string? personName, long received, long answered)
    {
        if (personName is null || !personName.StartsWith("User ", StringComparison.Ordinal)
            || !long.TryParse(personName.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var user))
        {
            return;
        }
        var chat = user - FirstUserId;
        if (chat >= 0 && chat < Conversations)
        {
            Interlocked.CompareExchange(ref _sessionRequested[chat], received, 0);
            Interlocked.CompareExchange(ref _sessionAnswered[chat], answered, 0);
        }
    }

    /// <summary>When the chat's session start reached the fake OSVI and when it was answered (0 = never).</summary>
    public (long Requested, long Answered) SessionTimesOf(int chat) => (_sessionRequested[chat], _sessionAnswered[chat]);

    public void AgentAnswered(int index, long timestamp)
    {
        if (index >= 0)
        {
            Interlocked.CompareExchange(ref _agentAnswered[index], timestamp, 0);
        }
    }

    public void ReplyDelivered(long chatId, string text, long timestamp)
    {
        if (!TryFind(text, out var index) || index / MessagesPerConversation != chatId - FirstUserId)
        {
            Interlocked.Increment(ref _unexpectedReplies);
            return;
        }
        Interlocked.CompareExchange(ref _delivered[index], timestamp, 0);
        var replies = _replies[index / MessagesPerConversation];
        lock (replies)
        {
            replies.Add((index % MessagesPerConversation) + 1);
        }
        Interlocked.Increment(ref _deliveredCount);
    }

    /// <summary>Delivered replies among the first <paramref name="count"/> messages (in feed order).</summary>
    public int DeliveredAmongFirst(int count, Func<int, int> feedToIndex)
    {
        var delivered = 0;
        for (var i = 0; i < count; i++)
        {
            if (Volatile.Read(ref _delivered[feedToIndex(i)]) != 0)
            {
                delivered++;
            }
        }
        return delivered;
    }

    public MessageTimes TimesOf(int index) =>
        new(_handedOut[index], _agentReceived[index], _agentAnswered[index], _delivered[index], _agentCalls[index]);

    /// <summary>Per chat: exactly messages 1..M, each once, in order.</summary>
    public DeliveryCheck CheckDelivery()
    {
        int lost = 0, duplicated = 0, outOfOrder = 0;
        for (var chat = 0; chat < Conversations; chat++)
        {
            var replies = _replies[chat];
            lock (replies)
            {
                var seen = new bool[MessagesPerConversation + 1];
                var last = 0;
                foreach (var k in replies)
                {
                    if (seen[k])
                    {
                        duplicated++;
                        continue;
                    }
                    seen[k] = true;
                    if (k < last)
                    {
                        outOfOrder++;
                    }
                    last = Math.Max(last, k);
                }
                for (var k = 1; k <= MessagesPerConversation; k++)
                {
                    if (!seen[k])
                    {
                        lost++;
                    }
                }
            }
        }
        return new DeliveryCheck(lost, duplicated, outOfOrder);
    }
}

/// <summary>One message's timestamps (0 = never happened) and how often the agent was asked about it.</summary>
internal readonly record struct MessageTimes(long HandedOut, long AgentReceived, long AgentAnswered, long Delivered, int AgentCalls)
{
    public bool Complete => HandedOut != 0 && AgentReceived != 0 && AgentAnswered != 0 && Delivered != 0;

    /// <summary>(t1 − t0) + (t3 − t2): the time the bridge itself added.</summary>
    public TimeSpan Added => Stopwatch.GetElapsedTime(HandedOut, AgentReceived) + Stopwatch.GetElapsedTime(AgentAnswered, Delivered);

    public TimeSpan EndToEnd => Stopwatch.GetElapsedTime(HandedOut, Delivered);
}

internal readonly record struct DeliveryCheck(int Lost, int Duplicated, int OutOfOrder);
