using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Storage;
using StackExchange.Redis;

namespace Osvi.Bridge.Sessions;

/// <summary>Session map in Redis (one key per conversation): shared by replicas and surviving restarts.</summary>
public sealed class RedisSessionStore(IConnectionMultiplexer redis, RedisKeys keys, IOptions<SessionsOptions> options) : ISessionStore
{
    private readonly TimeSpan _idle = options.Value.IdleTimeout;

    public async Task<string?> GetAsync(ConversationKey conversation, CancellationToken cancellationToken)
    {
        // GETEX reads and refreshes the idle expiry in one round trip.
        var value = await redis.GetDatabase().StringGetSetExpiryAsync(keys.Session(conversation), _idle);
        return AsSessionId(value);
    }

    public async Task<string> AddAsync(ConversationKey conversation, string sessionId, CancellationToken cancellationToken)
    {
        // SET NX GET: stores ours only if there is none, and says which one is there, in one step.
        var existing = await redis.GetDatabase().StringSetAndGetAsync(keys.Session(conversation), sessionId, _idle, false, When.NotExists);
        return AsSessionId(existing) ?? sessionId;
    }

    public Task SetAsync(ConversationKey conversation, string sessionId, CancellationToken cancellationToken) =>
        redis.GetDatabase().StringSetAsync(keys.Session(conversation), sessionId, _idle);

    public async Task<string?> RemoveAsync(ConversationKey conversation, CancellationToken cancellationToken)
    {
        var value = await redis.GetDatabase().StringGetDeleteAsync(keys.Session(conversation));
        return AsSessionId(value);
    }

    private static string? AsSessionId(RedisValue value) => value.IsNullOrEmpty ? null : value.ToString();
}
