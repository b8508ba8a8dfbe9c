using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Osvi.Bridge.Benchmarks;

/// <summary>
/// Slack on 127.0.0.1 for the Slack scenario: the Web API methods the bridge calls, each answered
/// after <see cref="Latency"/> (Slack is 50–150 ms away from a real deployment), and the Socket Mode
/// WebSocket: envelopes are pushed round-robin over the open connections, each stamped when sent
/// and when its ack arrives. DMs come from user U{id} in channel D{id}; users.info names them
/// "User {id}" (as the fake Telegram does), and chat.postMessage marks the reply delivered in the ledger.
/// </summary>
internal sealed class FakeSlackApi : IAsyncDisposable
{
    public const string BotToken = "xoxb-bench-bot-token";
    public const string AppToken = "xapp-bench-app-token";

    private readonly WebApplication _app;
    private readonly List<Socket> _sockets = [];
    private MessageLedger _ledger;
    private long[] _sent = [];
    private long[] _acked = [];
    private int _acks;
    private int _next;
    private int _ts;
    private int _usersInfo;
    private int _posts;
    private int _updates;

    private FakeSlackApi(WebApplication app, MessageLedger ledger, TimeSpan latency)
    {
        _app = app;
        _ledger = ledger;
        Latency = latency;
    }

    public string ApiBaseUrl { get; private set; } = "";

    public TimeSpan Latency { get; }

    public int OpenSockets
    {
        get
        {
            lock (_sockets)
            {
                return _sockets.Count(s => s.WebSocket.State == WebSocketState.Open);
            }
        }
    }

    public int AckCount => Volatile.Read(ref _acks);

    public int UsersInfoCalls => Volatile.Read(ref _usersInfo);

    public int PostCalls => Volatile.Read(ref _posts);

    public int UpdateCalls => Volatile.Read(ref _updates);

    public static async Task<FakeSlackApi> StartAsync(MessageLedger ledger, TimeSpan latency, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxConcurrentConnections = null);
        var app = builder.Build();
        var fake = new FakeSlackApi(app, ledger, latency);
        app.UseWebSockets();
        app.MapPost("/api/{method}", fake.HandleAsync);
        app.MapGet("/api/{method}", fake.HandleAsync);
        app.Map("/socket", fake.HandleSocketAsync);
        await app.StartAsync(cancellationToken);
        fake.ApiBaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/api/";
        return fake;
    }

    /// <summary>Measures a new round: replies go to <paramref name="ledger"/>, envelopes 0..count-1 are stamped.</summary>
    public void Begin(MessageLedger ledger, int count)
    {
        Volatile.Write(ref _ledger, ledger);
        _sent = new long[count];
        _acked = new long[count];
        Volatile.Write(ref _acks, 0);
    }

    /// <summary>
    /// Posts messages [from, to) to the bridge's <c>POST /slack/events</c>, signed as Slack signs them,
    /// at most <paramref name="parallel"/> at a time; each one's ack delay is send → response.
    /// </summary>
    public async Task PostEventsAsync(HttpClient bridge, int from, int to, string signingSecret, int parallel, CancellationToken cancellationToken)
    {
        var key = Encoding.UTF8.GetBytes(signingSecret);
        await Parallel.ForAsync(from, to, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken }, async (index, token) =>
        {
            var (_, payload) = Envelope(index);
            var body = Encoding.UTF8.GetBytes(payload);
            var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            var signed = Encoding.UTF8.GetBytes("v0:" + timestamp + ":").Concat(body).ToArray();
            var signature = "v0=" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(key, signed));
            using var request = new HttpRequestMessage(HttpMethod.Post, "slack/events") { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
            request.Headers.Add("X-Slack-Signature", signature);
            var ledger = Volatile.Read(ref _ledger);
            _sent[index] = Stopwatch.GetTimestamp();
            ledger.HandedOut(index, _sent[index]);
            using var response = await bridge.SendAsync(request, token);
            if (response.IsSuccessStatusCode && Interlocked.CompareExchange(ref _acked[index], Stopwatch.GetTimestamp(), 0) == 0)
            {
                Interlocked.Increment(ref _acks);
            }
        });
    }

    /// <summary>Message <paramref name="index"/> of the ledger as an Events API payload and as the Socket Mode envelope around it.</summary>
    private (string Envelope, string Payload) Envelope(int index)
    {
        var ledger = Volatile.Read(ref _ledger);
        var chat = index / ledger.MessagesPerConversation;
        var number = (index % ledger.MessagesPerConversation) + 1;
        var user = ledger.UserIdOf(chat);
        var text = MessageLedger.TextOf(user, number);
        var ts = string.Create(CultureInfo.InvariantCulture, $"1800000000.{index:D6}");
        var payload =
            "{\"team_id\":\"TB\",\"api_app_id\":\"AB\",\"type\":\"event_callback\",\"event_id\":\"Ev" + user.ToString(CultureInfo.InvariantCulture) + "x" + number.ToString(CultureInfo.InvariantCulture) + "\"," +
            "\"event\":{\"type\":\"message\",\"channel_type\":\"im\",\"channel\":\"D" + user.ToString(CultureInfo.InvariantCulture) + "\",\"user\":\"U" + user.ToString(CultureInfo.InvariantCulture) +
            "\",\"text\":\"" + text + "\",\"ts\":\"" + ts + "\",\"event_ts\":\"" + ts + "\"}}";
        var envelope = "{\"envelope_id\":\"e" + index.ToString(CultureInfo.InvariantCulture) +
            "\",\"type\":\"events_api\",\"accepts_response_payload\":false,\"retry_attempt\":0,\"payload\":" + payload + "}";
        return (envelope, payload);
    }

    /// <summary>Pushes message <paramref name="index"/> of the ledger (its conversation's first message) as a DM envelope.</summary>
    public async Task PushDmAsync(int index, CancellationToken cancellationToken)
    {
        var (envelope, _) = Envelope(index);
        Socket socket;
        lock (_sockets)
        {
            var open = _sockets.Where(s => s.WebSocket.State == WebSocketState.Open).ToList();
            if (open.Count == 0)
            {
                throw new InvalidOperationException("no Socket Mode connection is open");
            }
            socket = open[(int)((uint)Interlocked.Increment(ref _next) % (uint)open.Count)];
        }
        var bytes = Encoding.UTF8.GetBytes(envelope);
        await socket.Send.WaitAsync(cancellationToken);
        try
        {
            _sent[index] = Stopwatch.GetTimestamp();
            Volatile.Read(ref _ledger).HandedOut(index, _sent[index]);
            await socket.WebSocket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        }
        finally
        {
            socket.Send.Release();
        }
    }

    /// <summary>Send-to-ack delay of every acknowledged envelope of this round.</summary>
    public IReadOnlyList<TimeSpan> AckDelays()
    {
        var delays = new List<TimeSpan>(_sent.Length);
        for (var i = 0; i < _sent.Length; i++)
        {
            if (_sent[i] != 0 && _acked[i] != 0)
            {
                delays.Add(Stopwatch.GetElapsedTime(_sent[i], _acked[i]));
            }
        }
        return delays;
    }

    public async ValueTask DisposeAsync()
    {
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                socket.WebSocket.Abort();
            }
        }
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context, string method)
    {
        JsonDocument? body = null;
        if (HttpMethods.IsPost(context.Request.Method) && (context.Request.ContentLength is > 0 || context.Request.ContentType is not null))
        {
            body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        using (body)
        {
            await Task.Delay(Latency, context.RequestAborted);
            var auth = context.Request.Headers.Authorization.ToString();
            string answer;
            switch (method)
            {
                case "auth.test" when auth == "Bearer " + BotToken:
                    answer = """{"ok":true,"team_id":"TB","user_id":"UBOT","bot_id":"BBOT"}""";
                    break;
                case "apps.connections.open" when auth == "Bearer " + AppToken:
                    var ws = ApiBaseUrl.Replace("http://", "ws://", StringComparison.Ordinal).Replace("/api/", "/socket", StringComparison.Ordinal);
                    answer = $$"""{"ok":true,"url":"{{ws}}?ticket={{Guid.NewGuid():N}}"}""";
                    break;
                case "users.info":
                    Interlocked.Increment(ref _usersInfo);
                    var user = context.Request.Query["user"].ToString();
                    answer = "{\"ok\":true,\"user\":{\"id\":\"" + user + "\",\"name\":\"u\",\"profile\":{\"display_name\":\"User " + user.TrimStart('U') + "\"}}}";
                    break;
                case "chat.postMessage":
                    Interlocked.Increment(ref _posts);
                    answer = Post(body!.RootElement);
                    break;
                case "chat.update":
                    Interlocked.Increment(ref _updates);
                    answer = Post(body!.RootElement);
                    break;
                case "chat.delete" or "assistant.threads.setStatus":
                    answer = """{"ok":true}""";
                    break;
                default:
                    answer = """{"ok":false,"error":"invalid_auth"}""";
                    break;
            }
            context.Response.ContentType = "application/json; charset=utf-8";
            await context.Response.WriteAsync(answer, context.RequestAborted);
        }
    }

    private string Post(JsonElement body)
    {
        var channel = body.GetProperty("channel").GetString() ?? "";
        var text = body.TryGetProperty("text", out var t) ? t.GetString() ?? "" : "";
        if (channel.StartsWith('D') && long.TryParse(channel.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var chatId))
        {
            Volatile.Read(ref _ledger).ReplyDelivered(chatId, text, Stopwatch.GetTimestamp());
        }
        return $$"""{"ok":true,"channel":"{{channel}}","ts":"1900000000.{{Interlocked.Increment(ref _ts):D6}}"}""";
    }

    private async Task HandleSocketAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = 400;
            return;
        }
        using var webSocket = await context.WebSockets.AcceptWebSocketAsync();
        var socket = new Socket(webSocket);
        await webSocket.SendAsync("""{"type":"hello","num_connections":1}"""u8.ToArray(), WebSocketMessageType.Text, true, context.RequestAborted);
        lock (_sockets)
        {
            _sockets.Add(socket);
        }
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var result = await webSocket.ReceiveAsync(buffer, CancellationToken.None);
                var acked = Stopwatch.GetTimestamp();
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
                // {"envelope_id":"e123"}
                var frame = buffer.AsSpan(0, result.Count);
                var at = frame.IndexOf(":\"e"u8);
                if (at >= 0 && System.Buffers.Text.Utf8Parser.TryParse(frame[(at + 3)..], out int index, out _)
                    && index >= 0 && index < _acked.Length && Interlocked.CompareExchange(ref _acked[index], acked, 0) == 0)
                {
                    Interlocked.Increment(ref _acks);
                }
            }
        }
        catch (WebSocketException)
        {
            // The bridge went away.
        }
        finally
        {
            lock (_sockets)
            {
                _sockets.Remove(socket);
            }
        }
    }

    private sealed class Socket(WebSocket webSocket)
    {
        public WebSocket WebSocket { get; } = webSocket;
        public SemaphoreSlim Send { get; } = new(1, 1);
    }
}
