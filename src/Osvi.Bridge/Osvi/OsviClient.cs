using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Osvi.Bridge.Osvi;

/// <summary>
/// The OSVI legacy chat API on a typed <see cref="HttpClient"/>. Retries, back-off and timeouts
/// come from the resilience handler registered with it (<see cref="OsviRetryPolicy"/>); this class turns
/// answers into results or typed <see cref="OsviException"/>s.
/// </summary>
public sealed class OsviClient(HttpClient http, IOptions<OsviOptions> options, OsviAuthState authState)
{
    private readonly OsviOptions _options = options.Value;
    private readonly OsviTransport _transport = new(http, options.Value, authState);

    public async Task<OsviSession> StartSessionAsync(string? personName, CancellationToken cancellationToken)
    {
        var request = new StartSessionRequest(
            _options.AgentUuid,
            string.IsNullOrWhiteSpace(personName) ? null : new SessionMetadata(personName));
        var data = await PostAsync("chat_sessions", JsonContent.Create(request, OsviJsonContext.Default.StartSessionRequest),
            isSessionCall: false, retrySafe: false, cancellationToken);
        var sessionId = ReadString(data, "session_id")
            ?? throw new OsviException("OSVI started a session but returned no session_id.");
        return new OsviSession(sessionId, ReadString(data, "agent_name"), ReadString(data, "welcome_message"));
    }

    public async Task<OsviReply> SendMessageAsync(string sessionId, string message, CancellationToken cancellationToken)
    {
        var request = new SendMessageRequest(_options.AgentUuid, sessionId, message);
        var data = await PostAsync("chat_messages/send_message", JsonContent.Create(request, OsviJsonContext.Default.SendMessageRequest),
            isSessionCall: true, retrySafe: false, cancellationToken);
        return new OsviReply(
            ReadString(data, "session_id") ?? sessionId,
            ReadString(data, "response") ?? "",
            ReadString(data, "current_state"));
    }

    /// <summary>Closes a session; returns OSVI's summary of the conversation, if any.</summary>
    public async Task<string?> CloseSessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        var request = new CloseSessionRequest(_options.AgentUuid);
        var data = await PostAsync($"chat_sessions/{Uri.EscapeDataString(sessionId)}/close_session",
            JsonContent.Create(request, OsviJsonContext.Default.CloseSessionRequest), isSessionCall: true,
            retrySafe: true, cancellationToken);
        return ReadString(data, "summary");
    }

    private async Task<JsonElement> PostAsync(string path, HttpContent content, bool isSessionCall, bool retrySafe,
        CancellationToken cancellationToken) =>
        (await _transport.SendAsync(HttpMethod.Post, path, content, isSessionCall ? OsviCallKind.InSession : OsviCallKind.Plain, retrySafe,
            cancellationToken))!.Value;

    private static string? ReadString(JsonElement data, string name) => OsviTransport.ReadString(data, name);
}
