using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Sessions;
using Osvi.Bridge.Storage;
using StackExchange.Redis;

namespace Osvi.Bridge.Handoff;

/// <summary>
/// The handoff map in Redis: <c>handoff:session:{sessionId}</c> (a hash: the thread, and whether an operator has
/// it, answered, closed it), <c>handoff:thread:{channel}:{ts}</c> → session id, and <c>handoff:turns:{sessionId}</c>
/// (the last relayed turns). Each key is used on its own (Cluster-safe); all expire with the session's idle timeout.
/// </summary>
public sealed class RedisHandoffStore(IConnectionMultiplexer redis, RedisKeys keys, IOptions<SessionsOptions> sessions) : IHandoffStore
{
    private const string ThreadField = "thread";
    private const string OperatorField = "operator";
    private const string AnsweredField = "answered";
    private const string ClosedField = "closed";

    private readonly TimeSpan _ttl = sessions.Value.IdleTimeout;

    public async Task<HandoffThread?> FindBySessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        var fields = await redis.GetDatabase().HashGetAsync(keys.HandoffSession(sessionId), [ThreadField, OperatorField, ClosedField]);
        if (fields[0].IsNullOrEmpty)
        {
            return null;
        }
        var thread = JsonSerializer.Deserialize(fields[0].ToString(), HandoffJson.Default.HandoffThread);
        return thread is null ? null : thread with { OperatorActive = fields[1] == "1", Closed = fields[2] == "1" };
    }

    public async Task<HandoffThread?> FindByThreadAsync(string channel, string threadTs, CancellationToken cancellationToken)
    {
        var sessionId = await redis.GetDatabase().StringGetAsync(keys.HandoffThread(channel, threadTs));
        if (sessionId.IsNullOrEmpty)
        {
            return null;
        }
        var thread = await FindBySessionAsync(sessionId.ToString(), cancellationToken);
        return thread is not null && thread.Channel == channel && thread.ThreadTs == threadTs ? thread : null;
    }

    public async Task<bool> TryAddAsync(HandoffThread thread, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(thread);
        var db = redis.GetDatabase();
        var sessionKey = keys.HandoffSession(thread.SessionId);
        var json = JsonSerializer.Serialize(thread with { OperatorActive = false, Closed = false }, HandoffJson.Default.HandoffThread);
        if (!await db.HashSetAsync(sessionKey, ThreadField, json, When.NotExists))
        {
            return false;
        }
        await Task.WhenAll(
            db.KeyExpireAsync(sessionKey, _ttl),
            db.StringSetAsync(keys.HandoffThread(thread.Channel, thread.ThreadTs), thread.SessionId, _ttl));
        return true;
    }

    public Task SetOperatorActiveAsync(string sessionId, bool active, CancellationToken cancellationToken) =>
        redis.GetDatabase().HashSetAsync(keys.HandoffSession(sessionId), OperatorField, active ? "1" : "0");

    public Task<bool> MarkAnsweredAsync(string sessionId, CancellationToken cancellationToken) =>
        redis.GetDatabase().HashSetAsync(keys.HandoffSession(sessionId), AnsweredField, "1", When.NotExists);

    public Task CloseAsync(string sessionId, CancellationToken cancellationToken) =>
        redis.GetDatabase().HashSetAsync(keys.HandoffSession(sessionId), [new(ClosedField, "1"), new(OperatorField, "0")]);

    public void AppendTurn(string sessionId, RelayedTurn turn)
    {
        var db = redis.GetDatabase();
        var key = keys.HandoffTurns(sessionId);
        db.ListRightPush(key, JsonSerializer.Serialize(turn, HandoffJson.Default.RelayedTurn), flags: CommandFlags.FireAndForget);
        db.ListTrim(key, -IHandoffStore.RecentTurns, -1, CommandFlags.FireAndForget);
        db.KeyExpire(key, _ttl, CommandFlags.FireAndForget);
    }

    public async Task<IReadOnlyList<RelayedTurn>> RecentTurnsAsync(string sessionId, CancellationToken cancellationToken)
    {
        var values = await redis.GetDatabase().ListRangeAsync(keys.HandoffTurns(sessionId), -IHandoffStore.RecentTurns, -1);
        return values.Select(v => v.IsNullOrEmpty ? null : JsonSerializer.Deserialize(v.ToString(), HandoffJson.Default.RelayedTurn))
            .OfType<RelayedTurn>().ToList();
    }

    public void Touch(HandoffThread thread)
    {
        ArgumentNullException.ThrowIfNull(thread);
        var db = redis.GetDatabase();
        db.KeyExpire(keys.HandoffSession(thread.SessionId), _ttl, CommandFlags.FireAndForget);
        db.KeyExpire(keys.HandoffThread(thread.Channel, thread.ThreadTs), _ttl, CommandFlags.FireAndForget);
    }
}

[JsonSerializable(typeof(HandoffThread))]
[JsonSerializable(typeof(RelayedTurn))]
internal sealed partial class HandoffJson : JsonSerializerContext;
