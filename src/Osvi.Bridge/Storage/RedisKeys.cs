using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;
using StackExchange.Redis;

namespace Osvi.Bridge.Storage;

/// <summary>
/// The Redis key schema in one place. Keys that a script touches together share a hash tag: the
/// durable inbox's keys of one partition (its stream, lease and per-message records) are tagged
/// <c>{pN}</c>, so they sit in one Cluster slot, and a conversation's inbox keys are those of its partition.
/// Every other key is used on its own, so the schema works on Redis Cluster as it is.
/// </summary>
public sealed class RedisKeys(IOptions<RedisOptions> options)
{
    private readonly string _prefix = options.Value.KeyPrefix;

    public string Prefix => _prefix;

    /// <summary><c>{prefix}session:{conversationKey}</c> → OSVI session id, TTL = idle timeout.</summary>
    public RedisKey Session(ConversationKey conversation) => _prefix + "session:" + conversation.Value;

    /// <summary>
    /// <c>{prefix}seen:{platform}:{instance}:{eventId}</c> (<paramref name="eventId"/> carries the instance:
    /// <see cref="InboundMessage.DeduplicationId"/>) → id of the inbox entry that took the event, TTL = de-duplication window.
    /// </summary>
    public RedisKey Seen(string platform, string eventId) => _prefix + "seen:" + platform + ":" + eventId;

    /// <summary><c>{prefix}inbox:{pN}:stream</c>: the partition's messages (a stream with consumer group <c>bridge</c>).</summary>
    public RedisKey InboxStream(int partition) => PartitionPrefix(partition) + "stream";

    /// <summary><c>{prefix}inbox:{pN}:lease</c> → the replica working on the partition, TTL = ⅔ of <c>Inbox:LeaseTimeout</c>.</summary>
    public RedisKey InboxLease(int partition) => PartitionPrefix(partition) + "lease";

    /// <summary><c>{prefix}inbox:{pN}:record:{entryId}</c>: a message's journal (replies decided, parts delivered).</summary>
    public RedisKey InboxRecord(int partition, string entryId) => PartitionPrefix(partition) + "record:" + entryId;

    /// <summary><c>{prefix}inbox:dead</c>: messages the inbox gave up on, with their reason (a capped stream).</summary>
    public RedisKey DeadLetters => _prefix + "inbox:dead";

    /// <summary><c>{prefix}inbox:replicas</c>: live replicas (sorted set, score = heartbeat expiry in Unix ms).</summary>
    public RedisKey Replicas => _prefix + "inbox:replicas";

    /// <summary><c>{prefix}inbox:signal</c>: pub/sub channel telling the partition's holder that it has new messages.</summary>
    public RedisChannel InboxSignal => RedisChannel.Literal(_prefix + "inbox:signal");

    /// <summary><c>{prefix}lease:telegram-poller:{botId}</c> → the replica polling Telegram for the bot.</summary>
    public RedisKey TelegramPollerLease(string botId) => _prefix + "lease:telegram-poller:" + botId;

    /// <summary><c>{prefix}handoff:session:{sessionId}</c>: a session's support thread (hash), TTL = session idle timeout.</summary>
    public RedisKey HandoffSession(string sessionId) => _prefix + "handoff:session:" + sessionId;

    /// <summary><c>{prefix}handoff:thread:{channel}:{threadTs}</c> → the session a support thread belongs to.</summary>
    public RedisKey HandoffThread(string channel, string threadTs) => _prefix + "handoff:thread:" + channel + ":" + threadTs;

    /// <summary><c>{prefix}handoff:turns:{sessionId}</c>: the session's last relayed turns (a capped list), shown with a help request.</summary>
    public RedisKey HandoffTurns(string sessionId) => _prefix + "handoff:turns:" + sessionId;

    private string PartitionPrefix(int partition) => _prefix + "inbox:{p" + partition.ToString(System.Globalization.CultureInfo.InvariantCulture) + "}:";
}
