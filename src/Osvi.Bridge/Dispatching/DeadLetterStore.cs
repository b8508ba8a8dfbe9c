using System.Globalization;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Storage;
using StackExchange.Redis;

namespace Osvi.Bridge.Dispatching;

/// <summary>One message the durable inbox gave up on.</summary>
public sealed record DeadLetter(string Id, string Reason, int Attempts, string At, string Platform, string Conversation, string MessageId, string Text);

/// <summary>
/// The dead letters of the durable inbox (<c>{prefix}inbox:dead</c>): listed, put back into the inbox
/// (at the end of their conversation's queue, with their de-duplication mark cleared) or dropped.
/// </summary>
public sealed class DeadLetterStore(IConnectionMultiplexer redis, RedisKeys keys, IOptions<InboxOptions> options)
{
    public async Task<IReadOnlyList<DeadLetter>> ListAsync(int count)
    {
        var entries = await redis.GetDatabase().StreamRangeAsync(keys.DeadLetters, "-", "+", count);
        return entries.Select(Read).ToList();
    }

    /// <summary>Puts the dead letter back into the inbox; false when there is no such id (or it cannot be read).</summary>
    public async Task<bool> RetryAsync(string id)
    {
        var database = redis.GetDatabase();
        var entries = await database.StreamRangeAsync(keys.DeadLetters, id, id, 1);
        if (entries is not [var entry] || StoredMessage.Deserialize(entry["m"].IsNull ? null : entry["m"].ToString()) is not { } message)
        {
            return false;
        }
        var partition = RedisStreamInbox.PartitionOf(message.Conversation, options.Value.Partitions);
        // Without its mark the retried entry is not taken for a redelivery of the original one.
        await database.KeyDeleteAsync(keys.Seen(message.Platform, message.DeduplicationId));
        await database.StreamAddAsync(keys.InboxStream(partition), "m", entry["m"]);
        await database.StreamDeleteAsync(keys.DeadLetters, [id]);
        await redis.GetSubscriber().PublishAsync(keys.InboxSignal, partition);
        return true;
    }

    public async Task<bool> DropAsync(string id) => await redis.GetDatabase().StreamDeleteAsync(keys.DeadLetters, [id]) > 0;

    private static DeadLetter Read(StreamEntry entry)
    {
        var message = StoredMessage.Deserialize(entry["m"].IsNull ? null : entry["m"].ToString());
        return new DeadLetter(entry.Id.ToString(), entry["reason"].ToString(),
            int.TryParse(entry["attempts"].ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var attempts) ? attempts : 0,
            entry["at"].ToString(), message?.Platform ?? "?", message?.Conversation.Value ?? "?", message?.MessageId ?? "?", message?.Text ?? "");
    }
}
