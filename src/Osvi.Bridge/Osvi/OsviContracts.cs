using System.Text.Json.Serialization;

namespace Osvi.Bridge.Osvi;

/// <summary>A session OSVI started for us (<c>POST /chat_sessions</c>).</summary>
public sealed record OsviSession(string SessionId, string? AgentName, string? WelcomeMessage);

/// <summary>The agent's answer to one message (<c>POST /chat_messages/send_message</c>).</summary>
public sealed record OsviReply(string SessionId, string Response, string? CurrentState);

internal sealed record StartSessionRequest(
    [property: JsonPropertyName("agent_uuid")] string AgentUuid,
    [property: JsonPropertyName("metadata")] SessionMetadata? Metadata);

internal sealed record SessionMetadata([property: JsonPropertyName("person_name")] string PersonName);

internal sealed record SendMessageRequest(
    [property: JsonPropertyName("agent_uuid")] string AgentUuid,
    [property: JsonPropertyName("chat_session_id")] string ChatSessionId,
    [property: JsonPropertyName("message")] string Message);

internal sealed record CloseSessionRequest([property: JsonPropertyName("agent_uuid")] string AgentUuid);

[JsonSerializable(typeof(StartSessionRequest))]
[JsonSerializable(typeof(SendMessageRequest))]
[JsonSerializable(typeof(CloseSessionRequest))]
internal sealed partial class OsviJsonContext : JsonSerializerContext;
