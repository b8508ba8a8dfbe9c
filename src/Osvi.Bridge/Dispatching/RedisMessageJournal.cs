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

    private RedisMessageJournal(IDatabase database, RedisKey key, MessageRecord record)
    {
        _database = database;
        _key = key;
        Record = record;
    }

    public MessageRecord Record { get; private set; }

    /// <summary>A journal for a message no attempt has touched yet: nothing to read.</summary>
    public static RedisMessageJournal Fresh(IDatabase database, RedisKey key) => new(database, key, MessageRecord.Empty);

    /// <summary>Reads what earlier attempts (maybe on another replica) recorded.</summary>
    public static async Task<RedisMessageJournal> LoadAsync(IDatabase database, RedisKey key)
    {
        ArgumentNullException.ThrowIfNull(database);
        var value = await database.StringGetAsync(key);
        var record = MessageRecord.Empty;
        if (!value.IsNullOrEmpty)
        {
            try
            {
                if (JsonSerializer.Deserialize(value.ToString(), StoredMessageJson.Default.StoredRecord) is { } stored)
                {
                    record = new MessageRecord(stored.Replies ?? [], stored.Final, stored.RepliesDone, stored.PartsDone);
                }
            }
            catch (JsonException)
            {
                // An unreadable record is treated as none: the message is handled afresh.
            }
        }
        return new RedisMessageJournal(database, key, record);
    }

    public async Task SaveAsync(MessageRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var json = JsonSerializer.Serialize(new StoredRecord(record.Replies, record.Final, record.RepliesDone, record.PartsDone),
            StoredMessageJson.Default.StoredRecord);
        await _database.StringSetAsync(_key, json, Expiry);
        Record = record;
    }
}
