using System.Text.Json.Serialization;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>Who the bot is in its workspace, learned from <c>auth.test</c> at start.</summary>
/// <param name="UserId">The bot user's id (U…): mentions of it are stripped, its own messages ignored.</param>
/// <param name="BotId">The bot's id (B…).</param>
/// <param name="TeamId">The workspace (T…), the first part of every conversation key.</param>
public sealed record SlackBotIdentity(string UserId, string BotId, string TeamId);

/// <summary>A message Slack stored: its channel and its <c>ts</c>, needed to update or delete it.</summary>
public sealed record SlackPostedMessage(string Channel, string Ts);

internal sealed record SlackPostMessageRequest(
    [property: JsonPropertyName("channel")] string Channel,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("thread_ts")] string? ThreadTs,
    [property: JsonPropertyName("mrkdwn")] bool Mrkdwn = true);

internal sealed record SlackUpdateMessageRequest(
    [property: JsonPropertyName("channel")] string Channel,
    [property: JsonPropertyName("ts")] string Ts,
    [property: JsonPropertyName("text")] string Text);

internal sealed record SlackDeleteMessageRequest(
    [property: JsonPropertyName("channel")] string Channel,
    [property: JsonPropertyName("ts")] string Ts);

internal sealed record SlackSetStatusRequest(
    [property: JsonPropertyName("channel_id")] string ChannelId,
    [property: JsonPropertyName("thread_ts")] string ThreadTs,
    [property: JsonPropertyName("status")] string Status);

/// <summary>A thread's first message as <c>conversations.replies</c> gives it.</summary>
public sealed record SlackThreadParent(string? UserId, string? BotId, string Text);

internal sealed record SlackSocketAck(
    [property: JsonPropertyName("envelope_id")] string EnvelopeId,
    [property: JsonPropertyName("payload"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] SlackEphemeralResponse? Payload = null);

/// <summary>An answer only the invoking user sees: the response to a slash command (in its acknowledgement).</summary>
internal sealed record SlackEphemeralResponse(
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("response_type")] string ResponseType = "ephemeral");

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SlackPostMessageRequest))]
[JsonSerializable(typeof(SlackUpdateMessageRequest))]
[JsonSerializable(typeof(SlackDeleteMessageRequest))]
[JsonSerializable(typeof(SlackSetStatusRequest))]
[JsonSerializable(typeof(SlackSocketAck))]
[JsonSerializable(typeof(SlackEphemeralResponse))]
internal sealed partial class SlackJsonContext : JsonSerializerContext;
