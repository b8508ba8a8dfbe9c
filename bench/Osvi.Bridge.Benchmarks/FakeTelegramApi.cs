using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Osvi.Bridge.Benchmarks;

/// <summary>
/// The Telegram Bot API on 127.0.0.1 (Kestrel, port 0): serves the benchmark's updates to the
/// bridge's getUpdates long-poll as soon as they are released (all at once for a burst, a few at a
/// time for a steady rate), stamps t0 when an update goes out, and t3 when sendMessage brings its reply.
/// Request bodies are read as a stream (Telegram.Bot sends them chunked).
/// </summary>
internal sealed class FakeTelegramApi : IAsyncDisposable
{
    public const long BotId = 123456789;
    public const string Token = "123456789:BENCH-bench_0000000000000000000000000";

    private static readonly byte[] GetMeResult = Encoding.UTF8.GetBytes(
        $$$"""{"ok":true,"result":{"id":{{{BotId}}},"is_bot":true,"first_name":"Bench","username":"bench_bot","can_join_groups":true,"can_read_all_group_messages":false,"supports_inline_queries":false}}""");
    private static readonly byte[] TrueResult = Encoding.UTF8.GetBytes("""{"ok":true,"result":true}""");
    private static readonly byte[] UpdatesPrefix = Encoding.UTF8.GetBytes("""{"ok":true,"result":[""");
    private static readonly byte[] UpdatesSuffix = Encoding.UTF8.GetBytes("]}");

    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<TelegramFeed> _feeds = [];
    private TelegramFeed _feed;
    private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _sentMessageId;
    private int _getUpdatesCalls;
    private int _sendMessageCalls;
    private int _chatActionCalls;
    private int _otherCalls;
    private int _answeredFirstPoll;

    private FakeTelegramApi(WebApplication app, MessageLedger ledger)
    {
        _app = app;
        _feed = new TelegramFeed(ledger, 0);
        _feeds.Add(_feed);
    }

    public string BaseUrl { get; private set; } = "";

    public int GetUpdatesCalls => Volatile.Read(ref _getUpdatesCalls);

    public int SendMessageCalls => Volatile.Read(ref _sendMessageCalls);

    public int ChatActionCalls => Volatile.Read(ref _chatActionCalls);

    public int OtherCalls => Volatile.Read(ref _otherCalls);

    /// <summary>The ledger index of the current feed's update at <paramref name="position"/>.</summary>
    public int FeedToIndex(int position) => Volatile.Read(ref _feed).FeedToIndex(position);

    /// <summary>
    /// Switches to a new set of messages (after the warm-up): update ids go on from where the previous
    /// feed ended, so the bridge's offset stays valid. Call only when the previous feed was all handed out.
    /// </summary>
    public void Begin(MessageLedger ledger)
    {
        var previous = Volatile.Read(ref _feed);
        var next = new TelegramFeed(ledger, previous.BaseId + previous.Ledger.Total);
        lock (_feeds)
        {
            _feeds.Add(next);
        }
        Volatile.Write(ref _feed, next);
    }

    /// <summary>Makes the first <paramref name="count"/> updates (in feed order) of the current feed available to getUpdates.</summary>
    public void Release(int count)
    {
        var feed = Volatile.Read(ref _feed);
        count = Math.Min(count, feed.Updates.Length);
        if (count <= Volatile.Read(ref feed.Released))
        {
            return;
        }
        Volatile.Write(ref feed.Released, count);
        Interlocked.Exchange(ref _arrived, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        _stopping.Dispose();
    }

    public static async Task<FakeTelegramApi> StartAsync(MessageLedger ledger, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxConcurrentConnections = null);
        var app = builder.Build();
        var fake = new FakeTelegramApi(app, ledger);
        app.MapPost("/bot{token}/{method}", fake.HandleAsync);
        await app.StartAsync(cancellationToken);
        fake.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return fake;
    }

    private async Task HandleAsync(HttpContext context, string token, string method)
    {
        if (token != Token)
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await WriteAsync(context, Encoding.UTF8.GetBytes("""{"ok":false,"error_code":401,"description":"Unauthorized"}"""));
            return;
        }
        switch (method.ToUpperInvariant())
        {
            case "GETUPDATES":
                Interlocked.Increment(ref _getUpdatesCalls);
                await GetUpdatesAsync(context);
                break;
            case "SENDMESSAGE":
                await SendMessageAsync(context);
                break;
            case "SENDCHATACTION":
                Interlocked.Increment(ref _chatActionCalls);
                await DrainAsync(context);
                await WriteAsync(context, TrueResult);
                break;
            case "GETME":
                await DrainAsync(context);
                await WriteAsync(context, GetMeResult);
                break;
            default:
                // deleteWebhook and anything else the bridge may ask for at start.
                Interlocked.Increment(ref _otherCalls);
                await DrainAsync(context);
                await WriteAsync(context, TrueResult);
                break;
        }
    }

    private async Task GetUpdatesAsync(HttpContext context)
    {
        using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        var root = body.RootElement;
        var offset = root.TryGetProperty("offset", out var o) && o.ValueKind == JsonValueKind.Number ? o.GetInt32() : 0;
        var limit = root.TryGetProperty("limit", out var l) && l.ValueKind == JsonValueKind.Number ? Math.Clamp(l.GetInt32(), 1, 100) : 100;
        var timeout = root.TryGetProperty("timeout", out var t) && t.ValueKind == JsonValueKind.Number ? Math.Clamp(t.GetInt32(), 0, 50) : 0;

        // Update ids start at 1; offset N confirms every id below N.
        var feed = Volatile.Read(ref _feed);
        var first = Math.Max(0, Math.Max(offset, 1) - 1 - feed.BaseId);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        // The first poll is answered at once: the bridge reports Telegram as connected only after a poll
        // returned, and a held first poll would keep /readyz at 503 for the whole long-poll timeout.
        if (Interlocked.Exchange(ref _answeredFirstPoll, 1) == 0)
        {
            timeout = 0;
        }
        var deadline = Stopwatch.GetTimestamp() + (timeout * Stopwatch.Frequency);
        while (true)
        {
            var signal = Volatile.Read(ref _arrived);
            if (Volatile.Read(ref _feed) != feed)
            {
                feed = Volatile.Read(ref _feed);
                first = 0;
            }
            var available = Volatile.Read(ref feed.Released);
            if (first < available)
            {
                await WriteUpdatesAsync(context, feed, first, Math.Min(limit, available - first));
                return;
            }
            var remaining = deadline - Stopwatch.GetTimestamp();
            if (remaining <= 0 || linked.IsCancellationRequested)
            {
                await WriteUpdatesAsync(context, feed, first, 0);
                return;
            }
            var wait = TimeSpan.FromSeconds((double)remaining / Stopwatch.Frequency);
            await signal.Task.WaitAsync(wait, linked.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static async Task WriteUpdatesAsync(HttpContext context, TelegramFeed feed, int first, int count)
    {
        var length = UpdatesPrefix.Length + UpdatesSuffix.Length + Math.Max(0, count - 1);
        for (var i = 0; i < count; i++)
        {
            length += feed.Updates[first + i].Length;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var at = Copy(UpdatesPrefix, buffer, 0);
            for (var i = 0; i < count; i++)
            {
                if (i > 0)
                {
                    buffer[at++] = (byte)',';
                }
                at = Copy(feed.Updates[first + i], buffer, at);
            }
            at = Copy(UpdatesSuffix, buffer, at);
            var now = Stopwatch.GetTimestamp();
            for (var i = 0; i < count; i++)
            {
                feed.Ledger.HandedOut(feed.FeedToIndex(first + i), now);
            }
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = at;
            await context.Response.Body.WriteAsync(buffer.AsMemory(0, at), context.RequestAborted);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int Copy(byte[] source, byte[] target, int at)
    {
        source.CopyTo(target, at);
        return at + source.Length;
    }

    private async Task SendMessageAsync(HttpContext context)
    {
        var received = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _sendMessageCalls);
        using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        var root = body.RootElement;
        var chatId = root.TryGetProperty("chat_id", out var c)
            ? c.ValueKind == JsonValueKind.Number ? c.GetInt64() : long.Parse(c.GetString() ?? "0", CultureInfo.InvariantCulture)
            : 0;
        var text = root.TryGetProperty("text", out var t) ? t.GetString() ?? "" : "";
        LedgerOf(chatId).ReplyDelivered(chatId, text, received);

        var buffer = new ArrayBufferWriter<byte>(256 + (text.Length * 2));
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteBoolean("ok", true);
            json.WriteStartObject("result");
            json.WriteNumber("message_id", Interlocked.Increment(ref _sentMessageId));
            json.WriteStartObject("from");
            json.WriteNumber("id", BotId);
            json.WriteBoolean("is_bot", true);
            json.WriteString("first_name", "Bench");
            json.WriteString("username", "bench_bot");
            json.WriteEndObject();
            json.WriteStartObject("chat");
            json.WriteNumber("id", chatId);
            json.WriteString("type", "private");
            json.WriteString("first_name", "User");
            json.WriteEndObject();
            json.WriteNumber("date", 1700000001);
            json.WriteString("text", text);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        await WriteAsync(context, buffer.WrittenMemory);
    }

    private static async Task DrainAsync(HttpContext context)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            while (await context.Request.Body.ReadAsync(buffer, context.RequestAborted) > 0)
            {
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static Task WriteAsync(HttpContext context, ReadOnlyMemory<byte> json)
    {
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = json.Length;
        return context.Response.Body.WriteAsync(json, context.RequestAborted).AsTask();
    }

    /// <summary>The ledger whose chats include <paramref name="chatId"/> (a late warm-up reply goes to the warm-up's).</summary>
    private MessageLedger LedgerOf(long chatId)
    {
        lock (_feeds)
        {
            foreach (var feed in _feeds)
            {
                if (chatId >= feed.Ledger.FirstUserId && chatId < feed.Ledger.FirstUserId + feed.Ledger.Conversations)
                {
                    return feed.Ledger;
                }
            }
        }
        return Volatile.Read(ref _feed).Ledger;
    }

    /// <summary>One ledger's updates as JSON, in feed order, with ids from <see cref="BaseId"/> + 1.</summary>
    private sealed class TelegramFeed
    {
        public int Released;

        public TelegramFeed(MessageLedger ledger, int baseId)
        {
            Ledger = ledger;
            BaseId = baseId;
            Updates = new byte[ledger.Total][];
            for (var position = 0; position < ledger.Total; position++)
            {
                Updates[position] = UpdateJson(baseId + position + 1, ledger.UserIdOf(ChatOf(position)), MessageNumberOf(position));
            }
        }

        public MessageLedger Ledger { get; }

        public int BaseId { get; }

        public byte[][] Updates { get; }

        /// <summary>Feed position p is message k = p / N + 1 of chat p % N: round-robin over chats.</summary>
        public int FeedToIndex(int position) => MessageLedger.IndexOf(ChatOf(position), MessageNumberOf(position), Ledger.MessagesPerConversation);

        private int ChatOf(int position) => position % Ledger.Conversations;

        private int MessageNumberOf(int position) => (position / Ledger.Conversations) + 1;

        private static byte[] UpdateJson(int updateId, long user, int messageNumber)
        {
            var text = MessageLedger.TextOf(user, messageNumber);
            return Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $$$"""{"update_id":{{{updateId}}},"message":{"message_id":{{{messageNumber}}},"from":{"id":{{{user}}},"is_bot":false,"first_name":"User {{{user}}}"},"chat":{"id":{{{user}}},"type":"private","first_name":"User"},"date":1700000000,"text":"{{{text}}}"}}"""));
        }
    }
}
