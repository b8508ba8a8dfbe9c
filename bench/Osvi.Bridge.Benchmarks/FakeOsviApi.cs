using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Osvi.Bridge.Benchmarks;

/// <summary>
/// The OSVI legacy chat API on 127.0.0.1 (Kestrel, port 0): starts sessions at once and answers
/// every message after the configured agent latency with a reply that quotes the message's unique
/// text, so the reply can be matched at the fake Telegram. Stamps t1 when a message arrives and t2
/// just before its answer is written.
/// </summary>
internal sealed class FakeOsviApi : IAsyncDisposable
{
    public const string Token = "bench-osvi-token-0001";
    public const string Agent = "agent_Bench_0001";

    private static readonly byte[] Unauthorized = Encoding.UTF8.GetBytes("""{"success":false,"error":"Invalid API token"}""");

    private readonly WebApplication _app;
    private MessageLedger _ledger;
    private long _latencyTicks;
    private int _sessions;
    private int _messages;
    private int _inFlight;
    private int _peakInFlight;
    private int _refused;

    private FakeOsviApi(WebApplication app, MessageLedger ledger, TimeSpan latency)
    {
        _app = app;
        _ledger = ledger;
        Latency = latency;
    }

    public string BaseUrl { get; private set; } = "";

    /// <summary>How long the agent "thinks" before each answer.</summary>
    public TimeSpan Latency
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _latencyTicks));
        set => Volatile.Write(ref _latencyTicks, value.Ticks);
    }

    /// <summary>Where t1 and t2 are recorded; replaced after the warm-up.</summary>
    public MessageLedger Ledger
    {
        get => Volatile.Read(ref _ledger);
        set => Volatile.Write(ref _ledger, value);
    }

    public int SessionsStarted => Volatile.Read(ref _sessions);

    public int MessagesReceived => Volatile.Read(ref _messages);

    /// <summary>The most send_message calls waiting on the agent at once: the bridge's effective concurrency.</summary>
    public int PeakConcurrentMessages => Volatile.Read(ref _peakInFlight);

    public int Refused => Volatile.Read(ref _refused);

    public static async Task<FakeOsviApi> StartAsync(MessageLedger ledger, TimeSpan latency, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxConcurrentConnections = null);
        var app = builder.Build();
        var fake = new FakeOsviApi(app, ledger, latency);
        app.MapPost("/chat_sessions", fake.StartSessionAsync);
        app.MapPost("/chat_messages/send_message", fake.SendMessageAsync);
        app.MapPost("/chat_sessions/{id}/close_session", fake.CloseSessionAsync);
        // The bridge verifies its token and agent with this read-only call before it reports ready.
        app.MapGet("/v1/active_agents", () => Results.Json(new[] { new { agent_id = Agent, name = "Bench Agent", status = "active" } }));
        await app.StartAsync(cancellationToken);
        fake.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    private async Task StartSessionAsync(HttpContext context)
    {
        var received = Stopwatch.GetTimestamp();
        if (await RefuseAsync(context))
        {
            return;
        }
        using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        var id = Guid.NewGuid().ToString();
        Interlocked.Increment(ref _sessions);
        var person = body.RootElement.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
            && metadata.TryGetProperty("person_name", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() : null;
        Ledger.SessionStarted(person, received, Stopwatch.GetTimestamp());
        await WriteAsync(context, json =>
        {
            json.WriteStartObject("data");
            json.WriteString("session_id", id);
            json.WriteString("agent_name", "A");
            json.WriteString("started_at", "2025-12-31T11:40:25.690486");
            json.WriteString("welcome_message", "Hi");
            json.WriteEndObject();
        });
    }

    private async Task SendMessageAsync(HttpContext context)
    {
        var received = Stopwatch.GetTimestamp();
        if (await RefuseAsync(context))
        {
            return;
        }
        using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        var root = body.RootElement;
        var session = root.TryGetProperty("chat_session_id", out var s) ? s.GetString() ?? "" : "";
        var message = root.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "";
        Interlocked.Increment(ref _messages);
        var ledger = Ledger;
        ledger.AgentReceived(message, received, out var index);

        var now = Interlocked.Increment(ref _inFlight);
        int peak;
        while (now > (peak = Volatile.Read(ref _peakInFlight)) && Interlocked.CompareExchange(ref _peakInFlight, now, peak) != peak)
        {
        }
        try
        {
            var latency = Latency;
            if (latency > TimeSpan.Zero)
            {
                await Task.Delay(latency, context.RequestAborted);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }

        ledger.AgentAnswered(index, Stopwatch.GetTimestamp());
        await WriteAsync(context, json =>
        {
            json.WriteStartObject("data");
            json.WriteString("session_id", session);
            json.WriteString("response", "echo: " + message);
            json.WriteStartArray("tool_calls");
            json.WriteEndArray();
            json.WriteStartArray("tool_results");
            json.WriteEndArray();
            json.WriteNull("current_state");
            json.WriteEndObject();
        });
    }

    private async Task CloseSessionAsync(HttpContext context, string id)
    {
        if (await RefuseAsync(context))
        {
            return;
        }
        using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        await WriteAsync(context, json =>
        {
            json.WriteStartObject("data");
            json.WriteString("session_id", id);
            json.WriteEndObject();
        });
    }

    private async Task<bool> RefuseAsync(HttpContext context)
    {
        if (context.Request.Headers["API-Token"] == Token)
        {
            return false;
        }
        Interlocked.Increment(ref _refused);
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(Unauthorized, context.RequestAborted);
        return true;
    }

    private static Task WriteAsync(HttpContext context, Action<Utf8JsonWriter> data)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteBoolean("success", true);
            data(json);
            json.WriteEndObject();
        }
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        return context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).AsTask();
    }
}
