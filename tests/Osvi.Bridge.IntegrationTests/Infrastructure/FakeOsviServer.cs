using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Osvi.Bridge.IntegrationTests.Infrastructure;

/// <summary>
/// A stand-in for the OSVI legacy chat API as a real HTTP server on 127.0.0.1: it starts sessions,
/// answers messages ("echo: {message}" unless <see cref="Reply"/> says otherwise) and records
/// everything so tests can count sessions, calls and concurrency. Failures are scripted per call.
/// </summary>
public sealed class FakeOsviServer : IAsyncDisposable
{
    public const string Token = "test-token-0001";
    public const string Agent = "agent_Test_0001-abc";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<int> _sendFailures = new();
    private readonly ConcurrentQueue<int> _startFailures = new();
    private int _inFlight;
    private int _peakInFlight;
    private int _sessionCounter;

    private FakeOsviServer(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    /// <summary>How long the agent "thinks" before each answer.</summary>
    public TimeSpan Latency { get; set; } = TimeSpan.Zero;

    /// <summary>How long starting a session takes.</summary>
    public TimeSpan SessionLatency { get; set; } = TimeSpan.Zero;

    /// <summary>The agent's answer to (session id, message).</summary>
    public Func<string, string, string> Reply { get; set; } = (_, message) => "echo: " + message;

    public string? WelcomeMessage { get; set; } = "Hi! I'm the test agent.";

    /// <summary>The agents of the account: <see cref="Agent"/>, and any a test adds (bots answered by other agents).</summary>
    public ConcurrentDictionary<string, bool> Agents { get; } = new(StringComparer.Ordinal) { [Agent] = true };

    /// <summary>When set, every call answers 401 as OSVI does for a bad token.</summary>
    public bool RejectToken { get; set; }

    /// <summary>Sessions OSVI has forgotten: send_message answers 404 for them.</summary>
    public ConcurrentDictionary<string, bool> ForgottenSessions { get; } = new();

    public ConcurrentQueue<StartedSession> StartedSessions { get; } = new();
    public ConcurrentQueue<ReceivedMessage> Messages { get; } = new();
    public ConcurrentQueue<string> ClosedSessions { get; } = new();

    /// <summary>Counts every send_message request, failed ones included.</summary>
    public int SendAttempts => _sendAttempts;
    private int _sendAttempts;

    public int PeakConcurrentMessages => Volatile.Read(ref _peakInFlight);

    /// <summary>send_message calls that arrived and wait at the gate (<see cref="HoldAnswers"/>).</summary>
    public int Held => Volatile.Read(ref _held);
    private int _held;
    private TaskCompletionSource _gate = Opened();

    /// <summary>From now on send_message calls wait (the agent "thinks") until <see cref="ReleaseAnswers"/>.</summary>
    public void HoldAnswers() => Interlocked.CompareExchange(ref _gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), _gate);

    /// <summary>Lets the held calls, and every later one, answer.</summary>
    public void ReleaseAnswers() => Interlocked.Exchange(ref _gate, Opened()).TrySetResult();

    private static TaskCompletionSource Opened()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        return gate;
    }

    /// <summary>The next send_message calls answer these HTTP statuses, one each, before normal answers resume.</summary>
    public void FailNextMessages(params int[] statuses)
    {
        foreach (var status in statuses)
        {
            _sendFailures.Enqueue(status);
        }
    }

    public void FailNextSessionStarts(params int[] statuses)
    {
        foreach (var status in statuses)
        {
            _startFailures.Enqueue(status);
        }
    }

    public static async Task<FakeOsviServer> StartAsync(int port = 0)
    {
        var builder = LoopbackServer.CreateBuilder(port);
        var app = builder.Build();
        var fake = new FakeOsviServer(app);
        app.MapPost("/chat_sessions", (Delegate)fake.StartSessionAsync);
        app.MapPost("/chat_messages/send_message", (Delegate)fake.SendMessageAsync);
        app.MapPost("/chat_sessions/{id}/close_session", fake.CloseSessionAsync);
        app.MapGet("/v1/active_agents", (HttpContext context) => fake.Refuse(context)
            ?? Results.Json(fake.Agents.Keys.Order(StringComparer.Ordinal).Select(a => new { agent_id = a, name = "Test Agent", status = "active" })));
        await app.StartAsync();
        fake.BaseUrl = LoopbackServer.AddressOf(app);
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task<IResult> StartSessionAsync(HttpContext context)
    {
        if (Refuse(context) is { } refused)
        {
            return refused;
        }
        var body = await ReadBodyAsync(context);
        if (_startFailures.TryDequeue(out var failure))
        {
            return Results.Json(new { success = false, errors = new[] { "scripted failure" } }, statusCode: failure);
        }
        var agent = body?["agent_uuid"]?.GetValue<string>() ?? "";
        if (!Agents.ContainsKey(agent))
        {
            return Results.Json(new { success = false, errors = new[] { "agent_uuid is invalid" } }, statusCode: 422);
        }
        await Task.Delay(SessionLatency, context.RequestAborted);
        var id = $"00000000-0000-4000-8000-{Interlocked.Increment(ref _sessionCounter):D12}";
        StartedSessions.Enqueue(new StartedSession(id, body!["metadata"]?["person_name"]?.GetValue<string>()) { Agent = agent });
        return Results.Json(new
        {
            success = true,
            data = new { session_id = id, agent_name = "Test Agent", started_at = "2025-12-31T11:40:25.690486", welcome_message = WelcomeMessage },
        });
    }

    private async Task<IResult> SendMessageAsync(HttpContext context)
    {
        Interlocked.Increment(ref _sendAttempts);
        if (Refuse(context) is { } refused)
        {
            return refused;
        }
        var body = await ReadBodyAsync(context);
        if (_sendFailures.TryDequeue(out var failure))
        {
            return Results.Json(new { success = false, errors = new[] { "scripted failure" } }, statusCode: failure);
        }
        var session = body?["chat_session_id"]?.GetValue<string>() ?? "";
        var message = body?["message"]?.GetValue<string>() ?? "";
        if (ForgottenSessions.ContainsKey(session) || !StartedSessions.Any(s => s.Id == session))
        {
            return Results.Json(new { success = false, errors = new[] { "Chat session not found" } }, statusCode: 404);
        }

        var now = Interlocked.Increment(ref _inFlight);
        UpdatePeak(now);
        try
        {
            Interlocked.Increment(ref _held);
            try
            {
                await Volatile.Read(ref _gate).Task.WaitAsync(context.RequestAborted);
            }
            finally
            {
                Interlocked.Decrement(ref _held);
            }
            await Task.Delay(Latency, context.RequestAborted);
            Messages.Enqueue(new ReceivedMessage(session, message) { Agent = body?["agent_uuid"]?.GetValue<string>() ?? "" });
            return Results.Json(new
            {
                success = true,
                data = new { session_id = session, response = Reply(session, message), tool_calls = Array.Empty<object>(), tool_results = Array.Empty<object>(), current_state = (string?)null },
            });
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task<IResult> CloseSessionAsync(HttpContext context, string id)
    {
        if (Refuse(context) is { } refused)
        {
            return refused;
        }
        await ReadBodyAsync(context);
        ClosedSessions.Enqueue(id);
        ForgottenSessions[id] = true;
        return Results.Json(new { success = true, data = new { session_id = id, summary = "The user said hello." } });
    }

    private IResult? Refuse(HttpContext context) =>
        RejectToken || context.Request.Headers["API-Token"] != Token
            ? Results.Json(new { success = false, error = "Invalid API token" }, statusCode: 401)
            : null;

    private void UpdatePeak(int now)
    {
        int peak;
        while (now > (peak = Volatile.Read(ref _peakInFlight)) && Interlocked.CompareExchange(ref _peakInFlight, now, peak) != peak)
        {
        }
    }

    private static async Task<JsonNode?> ReadBodyAsync(HttpContext context)
    {
        try
        {
            return await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public sealed record StartedSession(string Id, string? PersonName)
    {
        /// <summary>The agent the session was started with.</summary>
        public string Agent { get; init; } = "";
    }

    public sealed record ReceivedMessage(string SessionId, string Text)
    {
        /// <summary>The agent the message was sent to.</summary>
        public string Agent { get; init; } = "";
    }
}
