using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;
using StackExchange.Redis;

namespace Osvi.Bridge.Storage;

/// <summary>
/// The Redis key schema in one place. On Redis Cluster every key is used alone (no multi-key
/// commands), so the schema works there as it is; on a single server one script reads a session
/// key and takes its lock key together.
/// </summary>
public sealed class RedisKeys(IOptions<RedisOptions> options)
{
    private readonly string _prefix = options.Value.KeyPrefix;

    /// <summary><c>{prefix}session:{conversationKey}</c> → OSVI session id, TTL = idle timeout.</summary>
    public RedisKey Session(ConversationKey conversation) => _prefix + "session:" + conversation.Value;

    /// <summary><c>{prefix}lock:session:{conversationKey}</c> → owner token while one process starts the session.</summary>
    public RedisKey SessionLock(ConversationKey conversation) => _prefix + "lock:session:" + conversation.Value;

    /// <summary><c>{prefix}seen:{platform}:{eventId}</c> → de-duplication marker, TTL = de-duplication window.</summary>
    public RedisKey Seen(string platform, string eventId) => _prefix + "seen:" + platform + ":" + eventId;
}
