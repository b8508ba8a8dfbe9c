using System.Text.Json;
using System.Text.Json.Serialization;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Dispatching;

/// <summary>
/// An <see cref="InboundMessage"/> as the durable inbox stores it (JSON in a stream entry), versioned by
/// its field names: a field added later must be optional, so entries written by an older build still read.
/// </summary>
public sealed record StoredMessage(
    [property: JsonPropertyName("platform")] string Platform,
    [property: JsonPropertyName("conversation")] string Conversation,
    [property: JsonPropertyName("id")] string MessageId,
    [property: JsonPropertyName("user")] string UserId,
    [property: JsonPropertyName("name")] string DisplayName,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("chat")] string ChatId,
    [property: JsonPropertyName("thread")] string? ThreadId,
    [property: JsonPropertyName("replyTo")] string? ReplyToMessageId,
    [property: JsonPropertyName("received")] DateTimeOffset ReceivedAt,
    [property: JsonPropertyName("quote")] string? Quote = null,
    [property: JsonPropertyName("instance"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Instance = null,
    [property: JsonPropertyName("agent"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? AgentUuid = null)
{
    public static string Serialize(InboundMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var stored = new StoredMessage(message.Platform, message.Conversation.Value, message.MessageId, message.UserId, message.DisplayName,
            message.Text, message.ReplyTarget.ChatId, message.ReplyTarget.ThreadId, message.ReplyTarget.ReplyToMessageId, message.ReceivedAt, message.Quote,
            message.Instance.Length == 0 ? null : message.Instance, message.AgentUuid);
        return JsonSerializer.Serialize(stored, StoredMessageJson.Default.StoredMessage);
    }

    /// <summary>Reads an entry back; null when it is not a message this build can read.</summary>
    public static InboundMessage? Deserialize(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }
        try
        {
            var s = JsonSerializer.Deserialize(json, StoredMessageJson.Default.StoredMessage);
            if (s is null || string.IsNullOrWhiteSpace(s.Platform) || string.IsNullOrWhiteSpace(s.Conversation) || s.MessageId is null || s.ChatId is null)
            {
                return null;
            }
            return new InboundMessage(s.Platform, new ConversationKey(s.Conversation), s.MessageId, s.UserId ?? "", s.DisplayName ?? "", s.Text ?? "",
                new ReplyTarget(s.ChatId, s.ThreadId, s.ReplyToMessageId))
            {
                ReceivedAt = s.ReceivedAt,
                Quote = s.Quote,
                // Entries written before several bots existed name none: they belong to the default one.
                Instance = s.Instance ?? "",
                AgentUuid = s.AgentUuid,
            };
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// A message's journal as the durable inbox stores it. A merged turn (<c>Bridge:MergeQueuedMessages</c>)
/// stores its joined text in the lead entry's record and, in each follow-up's record, the lead's entry id
/// (<see cref="MergedInto"/>), so a replay asks the agent once for all of them and answers each once.
/// </summary>
public sealed record StoredRecord(
    [property: JsonPropertyName("replies")] IReadOnlyList<string> Replies,
    [property: JsonPropertyName("final")] bool Final,
    [property: JsonPropertyName("done")] int RepliesDone,
    [property: JsonPropertyName("parts")] int PartsDone,
    [property: JsonPropertyName("text")] string? MergedText = null,
    [property: JsonPropertyName("into")] string? MergedInto = null);

[JsonSerializable(typeof(StoredMessage))]
[JsonSerializable(typeof(StoredRecord))]
internal sealed partial class StoredMessageJson : JsonSerializerContext;
