using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Osvi.Bridge.IntegrationTests.Infrastructure;

namespace Osvi.Bridge.IntegrationTests.Slack;

/// <summary>
/// A stand-in for Slack as a real Kestrel server on 127.0.0.1: the Web API methods the bridge
/// calls (recorded, with scripted 429s and errors) and a Socket Mode WebSocket that says hello,
/// pushes envelopes, records acknowledgements and can ask for a refresh.
/// </summary>
public sealed class FakeSlackServer : IAsyncDisposable
{
    public const string BotToken = "xoxb-test-bot-token";
    public const string AppToken = "xapp-test-app-token";
    public const string BotUserId = "UBOT";
    public const string BotId = "BBOT";
    public const string TeamId = "T1";

    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(20);

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<int>> _rateLimits = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _errors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<int>> _httpFailures = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (TaskCompletionSource Release, bool Once)> _holds = new(StringComparer.Ordinal);
    private int _usersInfoAnswered;
    private readonly List<FakeSocket> _sockets = [];
    private int _ts;
    private int _envelopes;

    private FakeSlackServer(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    public string ApiBaseUrl => BaseUrl + "/api/";

    /// <summary>auth.test answers invalid_auth.</summary>
    public bool RejectBotToken { get; set; }

    /// <summary>The app's bot token (<see cref="BotToken"/> unless started as another app).</summary>
    public string AppBotToken { get; private set; } = BotToken;

    /// <summary>The app-level token (<see cref="AppToken"/> unless started as another app).</summary>
    public string AppLevelToken { get; private set; } = AppToken;

    /// <summary>The app's bot user (<see cref="BotUserId"/> unless started as another app).</summary>
    public string AppBotUserId { get; private set; } = BotUserId;

    /// <summary>While set and not completed, apps.connections.open waits for it.</summary>
    public TaskCompletionSource? HoldConnectionsOpen { get; set; }

    public ConcurrentDictionary<string, string> DisplayNames { get; } = new(StringComparer.Ordinal);

    /// <summary>Every Web API call, in arrival order, with its HTTP status.</summary>
    public ConcurrentQueue<ApiCall> Calls { get; } = new();

    /// <summary>Messages as a user would see them: posted, then edited by chat.update, minus deleted ones.</summary>
    public ConcurrentDictionary<string, SlackMessage> Messages { get; } = new(StringComparer.Ordinal);

    public ConcurrentQueue<(int Connection, string EnvelopeId)> Acks { get; } = new();

    /// <summary>The payload an acknowledgement carried (a slash command's ephemeral answer), by envelope id.</summary>
    public ConcurrentDictionary<string, JsonNode> AckPayloads { get; } = new(StringComparer.Ordinal);

    /// <summary>The first message of each thread, by "{channel}:{thread_ts}", as conversations.replies answers it.</summary>
    public ConcurrentDictionary<string, (string? User, string? BotId, string Text)> ThreadParents { get; } = new(StringComparer.Ordinal);

    /// <summary>assistant.threads.setStatus calls that Slack accepted, in order.</summary>
    public ConcurrentQueue<(string Channel, string ThreadTs, string Status)> ThreadStatuses { get; } = new();

    /// <summary>How many users.info calls have been answered (held ones are not, yet).</summary>
    public int UsersInfoAnswered => Volatile.Read(ref _usersInfoAnswered);

    public int SocketCount
    {
        get
        {
            lock (_sockets)
            {
                return _sockets.Count;
            }
        }
    }

    public static async Task<FakeSlackServer> StartAsync() => await StartAsync(BotToken, AppToken, BotUserId);

    /// <summary>The stand-in of another app (several apps in one bridge), with its own tokens and bot user, in team <see cref="TeamId"/>.</summary>
    public static async Task<FakeSlackServer> StartAsync(string botToken, string appToken, string botUserId)
    {
        var builder = LoopbackServer.CreateBuilder();
        var app = builder.Build();
        var fake = new FakeSlackServer(app) { AppBotToken = botToken, AppLevelToken = appToken, AppBotUserId = botUserId };
        app.UseWebSockets();
        app.MapPost("/api/{method}", (Delegate)fake.HandlePostAsync);
        app.MapGet("/api/{method}", (Delegate)fake.HandleGetAsync);
        app.Map("/socket", fake.HandleSocketAsync);
        await app.StartAsync();
        fake.BaseUrl = LoopbackServer.AddressOf(app);
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        FakeSocket[] sockets;
        lock (_sockets)
        {
            sockets = [.. _sockets];
        }
        foreach (var socket in sockets)
        {
            socket.Socket.Abort();
        }
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>The next calls of <paramref name="method"/> answer HTTP 429 with this Retry-After, one each.</summary>
    public void RateLimitNext(string method, params int[] retryAfterSeconds)
    {
        var queue = _rateLimits.GetOrAdd(method, _ => new ConcurrentQueue<int>());
        foreach (var seconds in retryAfterSeconds)
        {
            queue.Enqueue(seconds);
        }
    }

    /// <summary>The next calls of <paramref name="method"/> answer with these HTTP statuses (e.g. 500, 503), one each.</summary>
    public void FailHttpNext(string method, params int[] statuses)
    {
        var queue = _httpFailures.GetOrAdd(method, _ => new ConcurrentQueue<int>());
        foreach (var status in statuses)
        {
            queue.Enqueue(status);
        }
    }

    /// <summary>
    /// Calls of <paramref name="method"/> (only the next one when <paramref name="once"/>) wait, each
    /// recorded on arrival, until the returned source completes.
    /// </summary>
    public TaskCompletionSource Hold(string method, bool once = false)
    {
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _holds[method] = (hold, once);
        return hold;
    }

    private async Task WaitIfHeldAsync(string method)
    {
        if (_holds.TryGetValue(method, out var held))
        {
            if (held.Once)
            {
                _holds.TryRemove(new KeyValuePair<string, (TaskCompletionSource, bool)>(method, held));
            }
            await held.Release.Task.WaitAsync(WaitLimit);
        }
    }

    /// <summary>The next calls of <paramref name="method"/> answer ok:false with these error codes, one each.</summary>
    public void FailNext(string method, params string[] errors)
    {
        var queue = _errors.GetOrAdd(method, _ => new ConcurrentQueue<string>());
        foreach (var error in errors)
        {
            queue.Enqueue(error);
        }
    }

    public IReadOnlyList<SlackMessage> VisibleMessages(string channel, string? threadTs = null) =>
        Messages.Values.Where(m => m.Channel == channel && !m.Deleted && m.ThreadTs == threadTs)
            .OrderBy(m => double.Parse(m.Ts, CultureInfo.InvariantCulture)).ToList();

    public IReadOnlyList<string> VisibleTexts(string channel, string? threadTs = null) =>
        VisibleMessages(channel, threadTs).Select(m => m.Text).ToList();

    public IReadOnlyList<ApiCall> CallsOf(string method) => Calls.Where(c => c.Method == method).ToList();

    public Task WaitForTextsAsync(string channel, string? threadTs, params string[] expected) =>
        Eventually.HoldsAsync(() => VisibleTexts(channel, threadTs).SequenceEqual(expected),
            $"messages [{string.Join(" | ", expected)}] in {channel}/{threadTs}; have [{string.Join(" | ", VisibleTexts(channel, threadTs))}]");

    public async Task<FakeSocket> WaitForSocketAsync(int number)
    {
        await Eventually.HoldsAsync(() => SocketCount >= number, $"socket #{number}");
        lock (_sockets)
        {
            return _sockets[number - 1];
        }
    }

    /// <summary>Pushes an Events API payload as an envelope on socket <paramref name="socket"/> (1-based); returns its envelope id.</summary>
    public async Task<string> PushAsync(JsonObject payload, int socket = 1, int retryAttempt = 0)
    {
        var connection = await WaitForSocketAsync(socket);
        var envelopeId = $"env-{Interlocked.Increment(ref _envelopes)}";
        var envelope = new JsonObject
        {
            ["envelope_id"] = envelopeId,
            ["type"] = "events_api",
            ["accepts_response_payload"] = false,
            ["retry_attempt"] = retryAttempt,
            ["retry_reason"] = retryAttempt > 0 ? "timeout" : "",
            ["payload"] = JsonNode.Parse(payload.ToJsonString()),
        };
        await connection.SendAsync(envelope);
        return envelopeId;
    }

    /// <summary>
    /// A person writes in a thread of <paramref name="channel"/> (the support channel): the message appears there, as in
    /// Slack, and its <c>message</c> event is pushed on socket <paramref name="socket"/> (subscribed to <c>message.channels</c>). Returns its ts.
    /// </summary>
    public async Task<string> PostInThreadAsAsync(string user, string channel, string threadTs, string text, string? botId = null, int socket = 1)
    {
        var ts = $"1800000000.{Interlocked.Increment(ref _ts):D6}";
        Messages[ts] = new SlackMessage(channel, ts, threadTs, text);
        await PushAsync(SlackEvents.ThreadReply(user, text, ts, threadTs, channel, botId), socket);
        return ts;
    }

    public Task WaitForAckAsync(string envelopeId) =>
        Eventually.HoldsAsync(() => Acks.Any(a => a.EnvelopeId == envelopeId), "ack of " + envelopeId);

    private async Task<IResult> HandlePostAsync(HttpContext context, string method)
    {
        var auth = context.Request.Headers.Authorization.ToString();
        var contentType = context.Request.ContentType;
        JsonNode? body = null;
        if (context.Request.ContentLength is > 0 || contentType is not null)
        {
            try
            {
                body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            }
            catch (JsonException)
            {
                body = null;
            }
        }

        if (_rateLimits.TryGetValue(method, out var limits) && limits.TryDequeue(out var retryAfter))
        {
            Calls.Enqueue(new ApiCall(method, 429, auth, contentType, body, null));
            context.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
            return Results.Json(new { ok = false, error = "ratelimited" }, statusCode: 429);
        }
        if (_httpFailures.TryGetValue(method, out var failures) && failures.TryDequeue(out var failure))
        {
            Calls.Enqueue(new ApiCall(method, failure, auth, contentType, body, null));
            return Results.Json(new { ok = false, error = "fake_http_failure" }, statusCode: failure);
        }
        Calls.Enqueue(new ApiCall(method, 200, auth, contentType, body, null));
        await WaitIfHeldAsync(method);
        if (_errors.TryGetValue(method, out var errors) && errors.TryDequeue(out var error))
        {
            return Results.Json(new { ok = false, error });
        }

        switch (method)
        {
            case "auth.test":
                return RejectBotToken || auth != "Bearer " + AppBotToken
                    ? Results.Json(new { ok = false, error = "invalid_auth" })
                    : Results.Json(new { ok = true, url = "https://test.slack.com/", team = "Test", user = "osvi", team_id = TeamId, user_id = AppBotUserId, bot_id = BotId });
            case "apps.connections.open":
                if (auth != "Bearer " + AppLevelToken)
                {
                    return Results.Json(new { ok = false, error = "invalid_auth" });
                }
                if (HoldConnectionsOpen is { } hold)
                {
                    await hold.Task.WaitAsync(WaitLimit);
                }
                var ws = BaseUrl.Replace("http://", "ws://", StringComparison.Ordinal);
                return Results.Json(new { ok = true, url = $"{ws}/socket?ticket={Guid.NewGuid():N}&app_id=A1" });
            case "chat.postMessage":
                if (!IsJsonWithBot(auth, contentType) || body?["channel"] is null)
                {
                    return Results.Json(new { ok = false, error = "invalid_request" });
                }
                var ts = $"1800000000.{Interlocked.Increment(ref _ts):D6}";
                var channel = body["channel"]!.GetValue<string>();
                Messages[ts] = new SlackMessage(channel, ts, body["thread_ts"]?.GetValue<string>(), body["text"]?.GetValue<string>() ?? "");
                return Results.Json(new { ok = true, channel, ts });
            case "chat.update":
                if (!IsJsonWithBot(auth, contentType))
                {
                    return Results.Json(new { ok = false, error = "invalid_request" });
                }
                var updated = body?["ts"]?.GetValue<string>() ?? "";
                if (!Messages.TryGetValue(updated, out var original) || original.Deleted)
                {
                    return Results.Json(new { ok = false, error = "message_not_found" });
                }
                Messages[updated] = original with { Text = body?["text"]?.GetValue<string>() ?? "", Edited = true };
                return Results.Json(new { ok = true, channel = original.Channel, ts = updated });
            case "assistant.threads.setStatus":
                if (!IsJsonWithBot(auth, contentType) || body?["channel_id"] is null || body["thread_ts"] is null)
                {
                    return Results.Json(new { ok = false, error = "invalid_arguments" });
                }
                ThreadStatuses.Enqueue((body["channel_id"]!.GetValue<string>(), body["thread_ts"]!.GetValue<string>(), body["status"]?.GetValue<string>() ?? ""));
                return Results.Json(new { ok = true });
            case "chat.delete":
                var deleted = body?["ts"]?.GetValue<string>() ?? "";
                if (!Messages.TryGetValue(deleted, out var gone))
                {
                    return Results.Json(new { ok = false, error = "message_not_found" });
                }
                Messages[deleted] = gone with { Deleted = true };
                return Results.Json(new { ok = true, channel = gone.Channel, ts = deleted });
            default:
                return Results.Json(new { ok = false, error = "unknown_method" });
        }
    }

    private async Task<IResult> HandleGetAsync(HttpContext context, string method)
    {
        var auth = context.Request.Headers.Authorization.ToString();
        var user = context.Request.Query["user"].ToString();
        if (_httpFailures.TryGetValue(method, out var failures) && failures.TryDequeue(out var failure))
        {
            Calls.Enqueue(new ApiCall(method, failure, auth, context.Request.ContentType, null, user));
            return Results.Json(new { ok = false, error = "fake_http_failure" }, statusCode: failure);
        }
        Calls.Enqueue(new ApiCall(method, 200, auth, context.Request.ContentType, null, user));
        await WaitIfHeldAsync(method);
        if (method == "users.info")
        {
            Interlocked.Increment(ref _usersInfoAnswered);
        }
        if (_errors.TryGetValue(method, out var errors) && errors.TryDequeue(out var error))
        {
            return Results.Json(new { ok = false, error });
        }
        if (method == "conversations.replies" && auth == "Bearer " + AppBotToken)
        {
            var key = context.Request.Query["channel"] + ":" + context.Request.Query["ts"];
            return ThreadParents.TryGetValue(key, out var parent)
                ? Results.Json(new { ok = true, messages = new[] { new { type = "message", user = parent.User, bot_id = parent.BotId, text = parent.Text, ts = context.Request.Query["ts"].ToString() } }, has_more = true })
                : Results.Json(new { ok = false, error = "thread_not_found" });
        }
        if (method != "users.info" || auth != "Bearer " + AppBotToken)
        {
            return Results.Json(new { ok = false, error = "invalid_auth" });
        }
        if (!DisplayNames.TryGetValue(user, out var name))
        {
            return Results.Json(new { ok = false, error = "user_not_found" });
        }
        return Results.Json(new { ok = true, user = new { id = user, name = name.ToLowerInvariant(), real_name = name + " Real", profile = new { display_name = name, real_name = name + " Real" } } });
    }

    private bool IsJsonWithBot(string auth, string? contentType) =>
        auth == "Bearer " + AppBotToken && contentType == "application/json; charset=utf-8";

    /// <summary>Pushes a slash command (as Socket Mode sends it) on socket <paramref name="socket"/>; returns its envelope id.</summary>
    public async Task<string> PushSlashCommandAsync(string command, string text, string channel, string user, int socket = 1)
    {
        var connection = await WaitForSocketAsync(socket);
        var envelopeId = $"env-{Interlocked.Increment(ref _envelopes)}";
        await connection.SendAsync(new JsonObject
        {
            ["envelope_id"] = envelopeId,
            ["type"] = "slash_commands",
            ["accepts_response_payload"] = true,
            ["payload"] = SlashCommand(command, text, channel, user),
        });
        return envelopeId;
    }

    /// <summary>A slash command's fields, as Slack sends them (form fields over HTTP, a JSON object in Socket Mode).</summary>
    public static JsonObject SlashCommand(string command, string text, string channel, string user) => new()
    {
        ["token"] = "deprecated-verification-token",
        ["team_id"] = TeamId,
        ["team_domain"] = "test",
        ["channel_id"] = channel,
        ["channel_name"] = channel.StartsWith('D') ? "directmessage" : "general",
        ["user_id"] = user,
        ["user_name"] = "jane",
        ["command"] = command,
        ["text"] = text,
        ["api_app_id"] = "A1",
        ["response_url"] = "https://hooks.slack.com/commands/T1/1/abc",
        ["trigger_id"] = $"{Random.Shared.Next()}.{Random.Shared.Next()}.abcdef",
    };

    private async Task HandleSocketAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest || string.IsNullOrEmpty(context.Request.Query["ticket"]))
        {
            context.Response.StatusCode = 400;
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        FakeSocket fake;
        lock (_sockets)
        {
            fake = new FakeSocket(_sockets.Count + 1, socket);
            _sockets.Add(fake);
        }
        await fake.SendAsync(new JsonObject
        {
            ["type"] = "hello",
            ["num_connections"] = 1,
            ["connection_info"] = new JsonObject { ["app_id"] = "A1" },
            ["debug_info"] = new JsonObject { ["host"] = "applink-test", ["approximate_connection_time"] = 3600 },
        });

        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    fake.ClosedByClient = true;
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    return;
                }
                var frame = JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, result.Count));
                if (frame?["envelope_id"]?.GetValue<string>() is { } id)
                {
                    if (frame["payload"] is { } payload)
                    {
                        AckPayloads[id] = payload.DeepClone();
                    }
                    Acks.Enqueue((fake.Number, id));
                }
            }
        }
        catch (WebSocketException)
        {
            // The client went away.
        }
        finally
        {
            fake.Ended = true;
        }
    }

    /// <summary>One API call as the fake saw it.</summary>
    public sealed record ApiCall(string Method, int Status, string Authorization, string? ContentType, JsonNode? Body, string? Query);

    /// <summary>One message in a channel.</summary>
    public sealed record SlackMessage(string Channel, string Ts, string? ThreadTs, string Text, bool Edited = false, bool Deleted = false);

    /// <summary>One Socket Mode connection, server side.</summary>
    public sealed class FakeSocket(int number, WebSocket socket)
    {
        private readonly SemaphoreSlim _send = new(1, 1);

        public int Number { get; } = number;
        public WebSocket Socket { get; } = socket;
        public bool ClosedByClient { get; set; }
        public bool Ended { get; set; }

        public async Task SendAsync(JsonObject frame)
        {
            await _send.WaitAsync();
            try
            {
                await Socket.SendAsync(Encoding.UTF8.GetBytes(frame.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
            }
            finally
            {
                _send.Release();
            }
        }

        public Task SendDisconnectAsync(string reason) =>
            SendAsync(new JsonObject { ["type"] = "disconnect", ["reason"] = reason, ["debug_info"] = new JsonObject { ["host"] = "applink-test" } });
    }
}
