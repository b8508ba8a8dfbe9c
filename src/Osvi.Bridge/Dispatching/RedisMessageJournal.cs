using System.Text.Json;
using StackExchange.Redis;

namespace Osvi.Bridge.Dispatching;

/// <summary>
/// A message's journal in Redis: one string key beside the message's stream entry (same hash tag),
/// removed with the entry when the message leaves the inbox. Its expiry only bounds what a crash
/// between the two could leave behind.
/// </summary>
public sealed class RedisMessageJournal : IMessageJournal
{
    private static readonly TimeSpan Expiry = TimeSpan.FromDays(7);
    private readonly IDatabase _database;
    private readonly RedisKey _key;

    private RedisMessageJournal(IDatabase database, RedisKey key, MessageRecord record, string? mergedText = null, string? mergedInto = null)
    {
        _database = database;
        _key = key;
        Record = record;
        MergedText = mergedText;
        MergedInto = mergedInto;
    }

    public MessageRecord Record { get; private set; }

    /// <summary>For the lead entry of a merged turn: the joined text the agent is asked (kept on every save).</summary>
    public string? MergedText { get; }

    /// <summary>For a follow-up of a merged turn: the lead's entry id, whose turn answers this message too.</summary>
    public string? MergedInto { get; }

    /// <summary>
    /// Starts a merged turn's journals in one transaction: the lead's with the joined text, each follow-up's
    /// naming the lead. All or none, so a replay either merges exactly as this turn did or not at all.
    /// </summary>
    public static async Task<RedisMessageJournal> BeginMergedAsync(IDatabase database, RedisKey leadKey, string leadEntryId, string mergedText,
        IReadOnlyList<RedisKey> followerKeys)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(followerKeys);
        var transaction = database.CreateTransaction();
        var writes = new List<Task> { transaction.StringSetAsync(leadKey, Serialize(MessageRecord.Empty, mergedText, null), Expiry) };
        var follower = Serialize(MessageRecord.Empty, null, leadEntryId);
        writes.AddRange(followerKeys.Select(key => transaction.StringSetAsync(key, follower, Expiry)));
        if (!await transaction.ExecuteAsync())
        {
            throw new RedisException("the merged turn's journals were not written");
        }
        await Task.WhenAll(writes);
        return new RedisMessageJournal(database, leadKey, MessageRecord.Empty, mergedText);
    }

    /// <summary>A journal for a message no attempt has touched yet: nothing to read.</summary>
    public static RedisMessageJournal Fresh(IDatabase database, RedisKey key) => new(database, key, MessageRecord.Empty);

    /// <summary>Reads what earlier attempts (maybe on another replica) recorded.</summary>
    public static async Task<RedisMessageJournal> LoadAsync(IDatabase database, RedisKey key)
    {
        ArgumentNullException.ThrowIfNull(database);
        var value = await database.StringGetAsync(key);
        if (!value.IsNullOrEmpty)
        {
            try
            {
                if (JsonSerializer.Deserialize(value.ToString(), StoredMessageJson.Default.StoredRecord) is { } stored)
                {
                    return new RedisMessageJournal(database, key, new MessageRecord(stored.Replies ?? [], stored.Final, stored.RepliesDone, stored.PartsDone),
                        stored.MergedText, stored.MergedInto);
                }
            }
            catch (JsonException)
            {
                // An unreadable record is treated as none: the message is handled afresh.
            }
        }
        return new RedisMessageJournal(database, key, MessageRecord.Empty);
    }

    public async Task SaveAsync(MessageRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        await _database.StringSetAsync(_key, Serialize(record, MergedText, MergedInto), Expiry);
        Record = record;
    }

    private static string Serialize(MessageRecord record, string? mergedText, string? mergedInto) =>
        JsonSerializer.Serialize(new StoredRecord(record.Replies, record.Final, record.RepliesDone, record.PartsDone, mergedText, mergedInto),
            StoredMessageJson.Default.StoredRecord);
}
