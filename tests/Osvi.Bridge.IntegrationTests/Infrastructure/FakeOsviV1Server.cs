using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Osvi.Bridge.IntegrationTests.Infrastructure;

/// <summary>
/// A stand-in for OSVI Chat v1 as a real HTTP server on 127.0.0.1, behaving as its docs say: one active
/// session per customer and agent (creating one closes the previous), inbound answers synchronously
/// ("echo: {content}" unless <see cref="Reply"/> says otherwise), a 404 from the active-session lookup when
/// there is none, support commands that change the mode or close the session, and the operator's side of them
/// (<c>tell</c> runs an agent turn, <c>whisper</c> guides the next one, a plain message needs support mode). Everything is recorded.
/// </summary>
public sealed class FakeOsviV1Server : IAsyncDisposable
{
    public const string Token = FakeOsviServer.Token;
    public const string Agent = FakeOsviServer.Agent;

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<int> _inboundFailures = new();
    private readonly Lock _gate = new();
    private int _sessionCounter;
    private int _inboundAttempts;
    private int _activeLookups;

    private FakeOsviV1Server(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    /// <summary>How long the agent "thinks" before each answer.</summary>
    public TimeSpan Latency { get; set; } = TimeSpan.Zero;

    /// <summary>The agent's answer to (session id, content).</summary>
    public Func<string, string, string> Reply { get; set; } = (_, content) => "echo: " + content;

    /// <summary>Whether a message makes the agent ask for a human (sets the session's help_requested).</summary>
    public Func<string, bool> RequestsHelp { get; set; } = content => content.Contains("human", StringComparison.OrdinalIgnoreCase);

    /// <summary>While set and not completed, support calls are recorded on arrival and then wait for it.</summary>
    public TaskCompletionSource? HoldSupport { get; set; }

    /// <summary>The agent's answer to <c>tell</c>: (session id, the operator's guidance).</summary>
    public Func<string, string, string> TellReply { get; set; } = (_, guidance) => "told: " + guidance;

    /// <summary>How an inbound call naming a session this server never had is refused: 404, or 422 naming the session.</summary>
    public int UnknownSessionStatus { get; set; } = 404;

    /// <summary>
    /// When set, inbound naming a closed session answers 200 from a new session of the customer (one of the
    /// ways the docs leave open) instead of refusing it.
    /// </summary>
    public bool MovesClosedSessionsOn { get; set; }

    /// <summary>Every session ever created, by id.</summary>
    public ConcurrentDictionary<string, Session> Sessions { get; } = new();

    public ConcurrentQueue<CreatedSession> CreatedSessions { get; } = new();
    public ConcurrentQueue<Inbound> Messages { get; } = new();
    public ConcurrentQueue<SupportCall> SupportCalls { get; } = new();

    /// <summary>Counts every inbound request, failed ones included.</summary>
    public int InboundAttempts => Volatile.Read(ref _inboundAttempts);

    public int ActiveLookups => Volatile.Read(ref _activeLookups);

    /// <summary>The customers of every active-session lookup, in order (the bridge's start-up probe included).</summary>
    public ConcurrentQueue<string> LookedUpCustomers { get; } = new();

    public int LookupsOf(string customerId) => LookedUpCustomers.Count(c => c == customerId);

    /// <summary>The next inbound calls answer these HTTP statuses, one each, before normal answers resume.</summary>
    public void FailNextInbound(params int[] statuses)
    {
        foreach (var status in statuses)
        {
            _inboundFailures.Enqueue(status);
        }
    }

    /// <summary>Closes a session on OSVI's side, as an operator or an expiry would.</summary>
    public void CloseBehindTheBridge(string sessionId) => Sessions[sessionId].Status = "closed";

    /// <summary>Forgets a session entirely: inbound answers as for an id it never had.</summary>
    public void Forget(string sessionId) => Sessions.TryRemove(sessionId, out _);

    /// <summary>Puts a session in support mode, as the support command <c>takeover</c> would.</summary>
    public void TakeOver(string sessionId) => Sessions[sessionId].Mode = "support";

    /// <summary>Hands a session back to the agent, as OSVI's dashboard might, without the bridge knowing.</summary>
    public void HandBackBehindTheBridge(string sessionId) => Sessions[sessionId].Mode = "ai";

    public Session? ActiveSessionOf(string customerId)
    {
        lock (_gate)
        {
            return Sessions.Values.SingleOrDefault(s => s.CustomerId == customerId && s.Status == "active");
        }
    }

    public static async Task<FakeOsviV1Server> StartAsync(int port = 0)
    {
        var builder = LoopbackServer.CreateBuilder(port);
        var app = builder.Build();
        var fake = new FakeOsviV1Server(app);
        app.MapPost("/v1/chat/session", (Delegate)fake.CreateSessionAsync);
        app.MapPost("/v1/chat/inbound", (Delegate)fake.InboundAsync);
        app.MapGet("/v1/chat/session/active", (Delegate)fake.ActiveSession);
        app.MapPost("/v1/chat/session/{id}/support", fake.SupportAsync);
        await app.StartAsync();
        fake.BaseUrl = LoopbackServer.AddressOf(app);
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task<IResult> CreateSessionAsync(HttpContext context)
    {
        if (Refuse(context) is { } refused)
        {
            return refused;
        }
        var body = await ReadBodyAsync(context);
        var customer = body?["customer_id"]?.GetValue<string>();
        if (body?["agent_uuid"]?.GetValue<string>() != Agent || string.IsNullOrEmpty(customer))
        {
            return Results.Json(new { success = false, errors = new[] { "agent_uuid is invalid or customer_id is missing" } }, statusCode: 422);
        }
        var session = NewSession(customer, body["input_fields"]?["person_name"]?.GetValue<string>());
        CreatedSessions.Enqueue(new CreatedSession(session.Id, customer, session.PersonName));
        return Results.Json(new { success = true, data = SessionObject(session) });
    }

    private async Task<IResult> InboundAsync(HttpContext context)
    {
        Interlocked.Increment(ref _inboundAttempts);
        if (Refuse(context) is { } refused)
        {
            return refused;
        }
        var body = await ReadBodyAsync(context);
        if (_inboundFailures.TryDequeue(out var failure))
        {
            return Results.Json(new { success = false, errors = new[] { "scripted failure" } }, statusCode: failure);
        }
        var customer = body?["customer_id"]?.GetValue<string>();
        var content = body?["content"]?.GetValue<string>();
        var sessionId = body?["session_id"]?.GetValue<string>();
        if (body?["agent_uuid"]?.GetValue<string>() != Agent || string.IsNullOrEmpty(customer) || content is null)
        {
            return Results.Json(new { success = false, errors = new[] { "agent_uuid, customer_id and content are required" } }, statusCode: 422);
        }
        if (sessionId is null)
        {
            return Results.Json(new { success = false, errors = new[] { "this stand-in expects the bridge to name its session" } }, statusCode: 422);
        }
        if (!Sessions.TryGetValue(sessionId, out var session))
        {
            return Results.Json(new { success = false, errors = new[] { "Session not found" } }, statusCode: UnknownSessionStatus);
        }
        if (session.CustomerId != customer)
        {
            return Results.Json(new { success = false, errors = new[] { "session_id belongs to another customer" } }, statusCode: 422);
        }
        if (session.Status == "closed" && MovesClosedSessionsOn)
        {
            session = ActiveSessionOf(customer) ?? NewSession(customer, session.PersonName);
        }
        else if (session.Status == "closed")
        {
            return Results.Json(new { success = false, errors = new[] { "Session is closed" } }, statusCode: 422);
        }

        await Task.Delay(Latency, context.RequestAborted);
        if (RequestsHelp(content))
        {
            session.HelpRequested = true;
        }
        Messages.Enqueue(new Inbound(session.Id, customer, content, sessionId));
        var reply = session.Mode == "support" ? "" : Reply(session.Id, content);
        return Results.Json(new
        {
            success = true,
            data = new { session_id = session.Id, reply, state = "default", mode = session.Mode, help_requested = session.HelpRequested },
        });
    }

    private IResult ActiveSession(HttpContext context)
    {
        Interlocked.Increment(ref _activeLookups);
        if (Refuse(context) is { } refused)
        {
            return refused;
        }
        var customer = context.Request.Query["customer_id"].ToString();
        LookedUpCustomers.Enqueue(customer);
        if (string.IsNullOrEmpty(customer))
        {
            return Results.Json(new { success = false, errors = new[] { "customer_id is required" } }, statusCode: 422);
        }
        if (context.Request.Query["agent_uuid"].ToString() != Agent)
        {
            return Results.Json(new { success = false, errors = new[] { "agent_uuid is invalid" } }, statusCode: 422);
        }
        return ActiveSessionOf(customer) is { } session
            ? Results.Json(new { success = true, data = SessionObject(session) })
            : Results.Json(new { success = false, errors = new[] { "No active session" } }, statusCode: 404);
    }

    private async Task<IResult> SupportAsync(HttpContext context, string id)
    {
        if (Refuse(context) is { } refused)
        {
            return refused;
        }
        var body = await ReadBodyAsync(context);
        var command = body?["command"]?.GetValue<string>();
        var message = body?["message"]?.GetValue<string>();
        if (!Sessions.TryGetValue(id, out var session))
        {
            return Results.Json(new { success = false, errors = new[] { "Session not found" } }, statusCode: 404);
        }
        if (session.Status == "closed")
        {
            return Results.Json(new { success = false, errors = new[] { "Session is closed" } }, statusCode: 422);
        }
        SupportCalls.Enqueue(new SupportCall(id, command) { Message = message });
        if (HoldSupport is { } hold)
        {
            await hold.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        switch (command)
        {
            case null when string.IsNullOrEmpty(message):
            case "tell" when string.IsNullOrEmpty(message):
                return Results.Json(new { success = false, errors = new[] { "message is required" } }, statusCode: 422);
            case null when session.Mode != "support":
                return Results.Json(new { success = false, errors = new[] { "operator messages need support mode" } }, statusCode: 422);
            case null:
                session.Operator.Enqueue(message!);
                break;
            case "tell":
                var reply = TellReply(id, message!);
                return Results.Json(new { success = true, data = new { state = "ok", session_id = id, command, reply } });
            case "whisper":
                session.Whispers.Enqueue(message ?? "");
                break;
            case "close":
                session.Status = "closed";
                break;
            case "takeover":
                session.Mode = "support";
                return Results.Json(new { success = true, data = new { state = "ok", session_id = id, command, active_human = "operator@example.com" } });
            case "end":
                session.Mode = "ai";
                break;
            default:
                return Results.Json(new { success = false, errors = new[] { "this stand-in knows close, takeover, end, tell, whisper and plain messages" } }, statusCode: 422);
        }
        return Results.Json(new { success = true, data = new { state = "ok", session_id = id, command } });
    }

    private Session NewSession(string customer, string? personName)
    {
        lock (_gate)
        {
            // Any active session of the same customer and agent is closed first.
            foreach (var previous in Sessions.Values.Where(s => s.CustomerId == customer && s.Status == "active"))
            {
                previous.Status = "closed";
            }
            var id = $"10000000-0000-4000-8000-{Interlocked.Increment(ref _sessionCounter):D12}";
            var session = new Session(id, customer) { PersonName = personName };
            Sessions[id] = session;
            return session;
        }
    }

    private static object SessionObject(Session session) => new
    {
        id = session.Id,
        chat_agent_id = 7,
        account_id = 3,
        customer_id = session.CustomerId,
        mode = session.Mode,
        help_requested = session.HelpRequested,
        status = session.Status,
        current_state = (string?)null,
        metadata = new { input_fields = new { person_name = session.PersonName }, state_fields = new { }, context = Array.Empty<string>() },
        active_human = (string?)null,
        created_at = "2026-01-01T00:00:00Z",
        updated_at = "2026-01-01T00:00:00Z",
    };

    private static IResult? Refuse(HttpContext context) =>
        context.Request.Headers["API-Token"] != Token
            ? Results.Json(new { success = false, error = "Invalid API token" }, statusCode: 401)
            : null;

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

    /// <summary>A session as OSVI holds it; status and mode change under support commands.</summary>
    public sealed class Session(string id, string customerId)
    {
        public string Id { get; } = id;
        public string CustomerId { get; } = customerId;
        public string? PersonName { get; init; }
        public string Status { get; set; } = "active";
        public string Mode { get; set; } = "ai";
        public bool HelpRequested { get; set; }

        /// <summary>Operators' plain messages recorded in the session, in order.</summary>
        public ConcurrentQueue<string> Operator { get; } = new();

        public ConcurrentQueue<string> Whispers { get; } = new();
    }

    public sealed record CreatedSession(string Id, string CustomerId, string? PersonName);

    /// <summary>A message the agent answered: in <see cref="SessionId"/>, though the bridge named <see cref="NamedSessionId"/>.</summary>
    public sealed record Inbound(string SessionId, string CustomerId, string Content, string NamedSessionId);

    public sealed record SupportCall(string SessionId, string? Command)
    {
        public string? Message { get; init; }
    }
}
