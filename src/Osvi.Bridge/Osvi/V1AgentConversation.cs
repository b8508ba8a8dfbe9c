using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Osvi;

/// <summary>
/// The agent port over OSVI Chat v1 on a typed <see cref="HttpClient"/>: <c>POST /v1/chat/session</c>,
/// <c>POST /v1/chat/inbound</c>, <c>GET /v1/chat/session/active</c> and the support command <c>close</c>.
/// A conversation is one OSVI customer, <see cref="CustomerIdFor"/>. v1 has no welcome message.
/// </summary>
public sealed partial class V1AgentConversation(
    HttpClient http,
    IOptions<OsviOptions> options,
    OsviAuthState authState,
    BridgeMetrics metrics,
    ILogger<V1AgentConversation> logger) : IAgentConversation
{
    /// <summary>Prefixed so the bridge's customers are told apart from others of the same OSVI account.</summary>
    public const string CustomerIdPrefix = "osvi-bridge:";

    private readonly OsviOptions _options = options.Value;
    private readonly OsviTransport _transport = new(http, options.Value, authState);

    public OsviApiVersion ApiVersion => OsviApiVersion.V1;

    /// <summary>
    /// The OSVI <c>customer_id</c> of a conversation: <c>osvi-bridge:</c> + its key, e.g.
    /// <c>osvi-bridge:telegram:42:-1001</c>. Stable and readable in OSVI's dashboard; one conversation
    /// (a private chat, a group, a forum topic, a Slack DM or thread) is one customer with one session.
    /// </summary>
    public static string CustomerIdFor(ConversationKey conversation) => CustomerIdPrefix + conversation.Value;

    public async Task<AgentSession> StartSessionAsync(ConversationKey conversation, string? personName, CancellationToken cancellationToken)
    {
        var request = new V1CreateSessionRequest(_options.AgentUuid, CustomerIdFor(conversation),
            string.IsNullOrWhiteSpace(personName) ? null : new V1InputFields(personName));
        var data = await _transport.SendAsync(HttpMethod.Post, "v1/chat/session",
            JsonContent.Create(request, OsviV1JsonContext.Default.V1CreateSessionRequest), OsviCallKind.Plain, retrySafe: false, cancellationToken);
        return ReadSession(data!.Value) ?? throw new OsviException("OSVI created a session but returned no id.");
    }

    public async Task<AgentTurn> SendAsync(string sessionId, ConversationKey conversation, string text, CancellationToken cancellationToken)
    {
        var request = new V1InboundRequest(_options.AgentUuid, CustomerIdFor(conversation), text, sessionId);
        var data = (await _transport.SendAsync(HttpMethod.Post, "v1/chat/inbound",
            JsonContent.Create(request, OsviV1JsonContext.Default.V1InboundRequest), OsviCallKind.InSession, retrySafe: false, cancellationToken))!.Value;
        var turn = new AgentTurn(OsviTransport.ReadString(data, "session_id") ?? sessionId, OsviTransport.ReadString(data, "reply") ?? "")
        {
            Mode = OsviTransport.ReadString(data, "mode"),
            HelpRequested = OsviTransport.ReadBool(data, "help_requested"),
            State = OsviTransport.ReadString(data, "state"),
        };
        if (turn.HelpRequested)
        {
            metrics.HelpRequested();
            LogHelpRequested(logger, conversation.Value, turn.SessionId, turn.Mode ?? "-");
        }
        return turn;
    }

    /// <summary>Support command <c>close</c>; closing twice does no harm, so it may be retried.</summary>
    public async Task CloseSessionAsync(string sessionId, ConversationKey conversation, CancellationToken cancellationToken)
    {
        var request = new V1SupportRequest(SupportCommands.Close);
        await _transport.SendAsync(HttpMethod.Post, $"v1/chat/session/{Uri.EscapeDataString(sessionId)}/support",
            JsonContent.Create(request, OsviV1JsonContext.Default.V1SupportRequest), OsviCallKind.InSession, retrySafe: true, cancellationToken);
    }

    /// <summary>
    /// A support command for an operator (<c>POST /v1/chat/session/{id}/support</c>): <c>takeover</c>,
    /// <c>tell</c>, <c>whisper</c>, <c>end</c>, <c>close</c>, or null for a plain operator message. A plain message
    /// and <c>tell</c> are not repeated after OSVI may have seen them (the user would get it twice, or a second
    /// agent turn); the other commands leave the session as one call would, so they are retried.
    /// </summary>
    public async Task<SupportResult> SupportAsync(string sessionId, string? command, string? message, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        var request = new V1SupportRequest(command) { Message = message };
        var data = await _transport.SendAsync(HttpMethod.Post, $"v1/chat/session/{Uri.EscapeDataString(sessionId)}/support",
            JsonContent.Create(request, OsviV1JsonContext.Default.V1SupportRequest), OsviCallKind.InSession,
            retrySafe: command is not (null or SupportCommands.Tell), cancellationToken);
        return data is { } d && d.ValueKind == JsonValueKind.Object
            ? new SupportResult(OsviTransport.ReadString(d, "reply"), OsviTransport.ReadString(d, "active_human"))
            : new SupportResult(null, null);
    }

    public async Task<AgentSession?> FindActiveSessionAsync(ConversationKey conversation, CancellationToken cancellationToken) =>
        await FindActiveSessionAsync(CustomerIdFor(conversation), cancellationToken);

    /// <summary><c>GET /v1/chat/session/active</c> for one customer of the configured agent; null on 404 or a closed session.</summary>
    public async Task<AgentSession?> FindActiveSessionAsync(string customerId, CancellationToken cancellationToken)
    {
        var path = $"v1/chat/session/active?customer_id={Uri.EscapeDataString(customerId)}&agent_uuid={Uri.EscapeDataString(_options.AgentUuid)}";
        var data = await _transport.SendAsync(HttpMethod.Get, path, null, OsviCallKind.Lookup, retrySafe: true, cancellationToken);
        return data is { } session && !string.Equals(OsviTransport.ReadString(session, "status"), "closed", StringComparison.OrdinalIgnoreCase)
            ? ReadSession(session)
            : null;
    }

    private static AgentSession? ReadSession(JsonElement data) =>
        OsviTransport.ReadString(data, "id") is { } id
            ? new AgentSession(id, null)
            {
                Mode = OsviTransport.ReadString(data, "mode"),
                HelpRequested = OsviTransport.ReadBool(data, "help_requested"),
            }
            : null;

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "OSVI reports help_requested in conversation {ConversationKey} (session {SessionId}, mode {Mode}): the user wants a human")]
    private static partial void LogHelpRequested(ILogger logger, string conversationKey, string sessionId, string mode);
}

internal sealed record V1CreateSessionRequest(
    [property: JsonPropertyName("agent_uuid")] string AgentUuid,
    [property: JsonPropertyName("customer_id")] string CustomerId,
    [property: JsonPropertyName("input_fields")] V1InputFields? InputFields);

internal sealed record V1InputFields([property: JsonPropertyName("person_name")] string PersonName);

internal sealed record V1InboundRequest(
    [property: JsonPropertyName("agent_uuid")] string AgentUuid,
    [property: JsonPropertyName("customer_id")] string CustomerId,
    [property: JsonPropertyName("content")] string Content,
    [property: JsonPropertyName("session_id")] string? SessionId);

internal sealed record V1SupportRequest([property: JsonPropertyName("command")] string? Command)
{
    [JsonPropertyName("message")]
    public string? Message { get; init; }
}

/// <summary>What a support command returned: the agent's <see cref="Reply"/> (<c>tell</c>) and the operator OSVI recorded (<c>takeover</c>).</summary>
public sealed record SupportResult(string? Reply, string? ActiveHuman);

/// <summary>The support commands of Chat v1 (<c>/v1/chat/session/{id}/support</c>); a plain operator message has none.</summary>
public static class SupportCommands
{
    public const string Takeover = "takeover";
    public const string Tell = "tell";
    public const string Whisper = "whisper";
    public const string End = "end";
    public const string Close = "close";
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(V1CreateSessionRequest))]
[JsonSerializable(typeof(V1InboundRequest))]
[JsonSerializable(typeof(V1SupportRequest))]
internal sealed partial class OsviV1JsonContext : JsonSerializerContext;
