using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Osvi.Bridge.IntegrationTests.Infrastructure;

namespace Osvi.Bridge.IntegrationTests.Telegram;

/// <summary>
/// A stand-in for the Telegram Bot API as a real HTTP server on 127.0.0.1 (<c>POST /bot{token}/{method}</c>).
/// It queues updates for <c>getUpdates</c> (honouring offset confirmation and the long-poll timeout),
/// records every call, and answers scripted errors (429 with retry_after, 400, 403, 409).
/// Bodies are parsed as JSON because Telegram.Bot sends them chunked with <c>\u003C</c>-style escapes.
/// </summary>
public sealed class FakeTelegramServer : IAsyncDisposable
{
    public const long BotId = 123456;
    public const string Token = "123456:TEST-token_abcdef";
    public const string BotUsername = "OsviTestBot";

    private readonly WebApplication _app;
    private readonly object _gate = new();
    private readonly List<JsonObject> _pending = [];
    private readonly ConcurrentQueue<ScriptedError> _sendFailures = new();
    private TaskCompletionSource _updateArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _nextUpdateId = 5000;
    private int _nextMessageId = 900;
    private int _confirmedOffset;
    private int _conflicts;
    private int _hangs;

    private FakeTelegramServer(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    /// <summary>The bot this server is: <see cref="BotId"/> unless started for another one (several bots in one bridge).</summary>
    public long Id { get; private set; } = BotId;

    /// <summary>The token it accepts: <see cref="Token"/>, or <c>{id}:TEST-token_abcdef</c> for another bot.</summary>
    public string BotToken { get; private set; } = Token;

    /// <summary>Every call in arrival order: method name and JSON body.</summary>
    public ConcurrentQueue<RecordedCall> Calls { get; } = new();

    /// <summary>When set, getMe answers 401 as Telegram does for a revoked token.</summary>
    public bool RejectToken { get; set; }

    /// <summary>When set, getMe answers only once this completes (Telegram slow or unreachable at start-up).</summary>
    public TaskCompletionSource? GetMeGate { get; set; }

    /// <summary>Decides an error for a sendMessage body (after the scripted queue); null = deliver.</summary>
    public Func<JsonObject, ScriptedError?>? SendMessageRule { get; set; }

    /// <summary>Decides an error for a sendMessageDraft body; null = show the draft.</summary>
    public Func<JsonObject, ScriptedError?>? DraftRule { get; set; }

    /// <summary>Decides an error for a sendRichMessage body; null = deliver.</summary>
    public Func<JsonObject, ScriptedError?>? RichMessageRule { get; set; }

    /// <summary>Rich messages delivered (<c>sendRichMessage</c>), in order.</summary>
    public IReadOnlyList<JsonObject> SentRichMessages => CallsTo("sendRichMessage").Where(c => c.Delivered).Select(c => c.Body).ToList();

    /// <summary>getUpdates calls that hung (no answer until the caller gave up), as on a half-open connection.</summary>
    public int HungPolls => Volatile.Read(ref _hungPolls);
    private int _hungPolls;

    public IReadOnlyList<JsonObject> SentMessages => CallsTo("sendMessage").Where(c => c.Delivered).Select(c => c.Body).ToList();

    public IReadOnlyList<RecordedCall> CallsTo(string method) => Calls.Where(c => c.Method == method).ToList();

    /// <summary>Starts the stand-in of bot <paramref name="botId"/>, which accepts the token <c>{botId}:TEST-token_abcdef</c>.</summary>
    public static async Task<FakeTelegramServer> StartAsync(long botId = BotId)
    {
        var builder = LoopbackServer.CreateBuilder();
        var app = builder.Build();
        var fake = new FakeTelegramServer(app) { Id = botId, BotToken = $"{botId}:TEST-token_abcdef" };
        app.MapPost("/bot{token}/{method}", (Delegate)fake.HandleAsync);
        await app.StartAsync();
        fake.BaseUrl = LoopbackServer.AddressOf(app);
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Queues an update carrying <paramref name="message"/>; returns its update_id.</summary>
    public int EnqueueMessage(JsonObject message) => Enqueue("message", message);

    /// <summary>Queues an update of any kind (edited_message, channel_post, …).</summary>
    public int Enqueue(string kind, JsonObject payload)
    {
        lock (_gate)
        {
            var id = _nextUpdateId++;
            _pending.Add(new JsonObject { ["update_id"] = id, [kind] = payload });
            _updateArrived.TrySetResult();
            _updateArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return id;
        }
    }

    /// <summary>Pretends Telegram never got our confirmations: every update comes back, as after a crash.</summary>
    public void ForgetConfirmations()
    {
        lock (_gate)
        {
            _confirmedOffset = 0;
        }
    }

    /// <summary>Builds a whole update (as Telegram would post it to a webhook).</summary>
    public JsonObject NewUpdate(JsonObject message)
    {
        lock (_gate)
        {
            return new JsonObject { ["update_id"] = _nextUpdateId++, ["message"] = message };
        }
    }

    public void FailNextSends(params ScriptedError[] errors)
    {
        foreach (var error in errors)
        {
            _sendFailures.Enqueue(error);
        }
    }

    /// <summary>The next getUpdates calls never answer (until the caller aborts them), whatever their timeout.</summary>
    public void HangNextPolls(int count) => Interlocked.Exchange(ref _hangs, count);

    /// <summary>Queues the update Telegram sends when the user presses Stop on a draft; returns its update_id.</summary>
    public int EnqueueStop(long chatId, long draftId) => Enqueue("stopped_message_generation", new JsonObject
    {
        ["chat"] = new JsonObject { ["id"] = chatId, ["type"] = "private", ["first_name"] = "Alice" },
        ["draft_id"] = draftId,
    });

    /// <summary>The next getUpdates calls answer 409 Conflict.</summary>
    public void ConflictNextPolls(int count) => Interlocked.Exchange(ref _conflicts, count);

    /// <summary>Waits until the sent messages satisfy <paramref name="condition"/>; fails the test after 15 s.</summary>
    public async Task<IReadOnlyList<JsonObject>> WaitForSentAsync(Func<IReadOnlyList<JsonObject>, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var sent = SentMessages;
            if (condition(sent))
            {
                return sent;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited for {what}; sent so far: {string.Join(" | ", sent.Select(m => m["text"]?.ToString()))}");
            }
            await Task.Delay(20);
        }
    }

    /// <summary>Waits until the messages sent to <paramref name="chatId"/> include one with this exact text.</summary>
    public async Task<JsonObject> WaitForTextAsync(long chatId, string text)
    {
        var sent = await WaitForSentAsync(s => s.Any(m => ChatOf(m) == chatId && m["text"]?.ToString() == text), $"'{text}' in chat {chatId}");
        return sent.First(m => ChatOf(m) == chatId && m["text"]?.ToString() == text);
    }

    public IReadOnlyList<string> TextsTo(long chatId) =>
        SentMessages.Where(m => ChatOf(m) == chatId).Select(m => m["text"]?.ToString() ?? "").ToList();

    public static long ChatOf(JsonObject body) => body["chat_id"]?.GetValue<long>() ?? 0;

    public static JsonObject Private(long userId, string? text, string firstName = "Alice", string lastName = "Liddell") => new()
    {
        ["message_id"] = 10 + Random.Shared.Next(1000),
        ["date"] = 1_700_000_000,
        ["chat"] = new JsonObject { ["id"] = userId, ["type"] = "private", ["first_name"] = firstName },
        ["from"] = new JsonObject { ["id"] = userId, ["is_bot"] = false, ["first_name"] = firstName, ["last_name"] = lastName },
        ["text"] = text,
    };

    public static JsonObject Group(long chatId, long userId, string text, int messageId, int? topic = null)
    {
        var message = new JsonObject
        {
            ["message_id"] = messageId,
            ["date"] = 1_700_000_000,
            ["chat"] = new JsonObject { ["id"] = chatId, ["type"] = "supergroup", ["title"] = "Team", ["is_forum"] = topic is not null },
            ["from"] = new JsonObject { ["id"] = userId, ["is_bot"] = false, ["first_name"] = "Bob" },
            ["text"] = text,
        };
        var mention = "@" + BotUsername;
        var entities = new JsonArray();
        var at = text.IndexOf(mention, StringComparison.Ordinal);
        if (at >= 0 && !text.StartsWith('/'))
        {
            entities.Add(new JsonObject { ["type"] = "mention", ["offset"] = at, ["length"] = mention.Length });
        }
        if (text.StartsWith('/'))
        {
            var end = text.IndexOf(' ', StringComparison.Ordinal);
            entities.Add(new JsonObject { ["type"] = "bot_command", ["offset"] = 0, ["length"] = end < 0 ? text.Length : end });
        }
        if (entities.Count > 0)
        {
            message["entities"] = entities;
        }
        if (topic is not null)
        {
            message["message_thread_id"] = topic;
            message["is_topic_message"] = true;
        }
        return message;
    }

    private async Task<IResult> HandleAsync(HttpContext context, string token, string method)
    {
        var body = await ReadBodyAsync(context);
        if (token != BotToken || (RejectToken && method == "getMe"))
        {
            Calls.Enqueue(new RecordedCall(method, body, false, context.Connection.Id));
            return Error(401, "Unauthorized");
        }
        switch (method)
        {
            case "getMe":
                if (GetMeGate is { } gate)
                {
                    await gate.Task.WaitAsync(context.RequestAborted);
                }
                Calls.Enqueue(new RecordedCall(method, body, true, context.Connection.Id));
                return Ok(new JsonObject
                {
                    ["id"] = Id, ["is_bot"] = true, ["first_name"] = "Osvi Test", ["username"] = BotUsername,
                    ["can_join_groups"] = true, ["can_read_all_group_messages"] = false, ["supports_inline_queries"] = false,
                });
            case "getUpdates":
                Calls.Enqueue(new RecordedCall(method, body, true, context.Connection.Id));
                if (Interlocked.Decrement(ref _conflicts) >= 0)
                {
                    return Error(409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running");
                }
                if (Interlocked.Decrement(ref _hangs) >= 0)
                {
                    Interlocked.Increment(ref _hungPolls);
                    await Task.Delay(Timeout.Infinite, context.RequestAborted).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    return Results.Empty;
                }
                return Ok(await GetUpdatesAsync(body, context.RequestAborted));
            case "sendMessage":
                var failure = _sendFailures.TryDequeue(out var scripted) ? scripted : SendMessageRule?.Invoke(body);
                Calls.Enqueue(new RecordedCall(method, body, failure is null, context.Connection.Id));
                if (failure is not null)
                {
                    return Error(failure.Code, failure.Description, failure.RetryAfter, failure.MigrateToChatId);
                }
                var chatId = ChatOf(body);
                return Ok(new JsonObject
                {
                    ["message_id"] = Interlocked.Increment(ref _nextMessageId),
                    ["date"] = 1_700_000_000,
                    ["chat"] = new JsonObject { ["id"] = chatId, ["type"] = chatId < 0 ? "supergroup" : "private" },
                    ["from"] = new JsonObject { ["id"] = Id, ["is_bot"] = true, ["first_name"] = "Osvi Test" },
                    ["text"] = body["text"]?.ToString(),
                });
            case "getWebhookInfo":
                Calls.Enqueue(new RecordedCall(method, body, true, context.Connection.Id));
                return Ok(new JsonObject { ["url"] = "", ["has_custom_certificate"] = false, ["pending_update_count"] = 0 });
            case "sendMessageDraft" or "sendRichMessage":
                var refusal = (method == "sendMessageDraft" ? DraftRule : RichMessageRule)?.Invoke(body);
                Calls.Enqueue(new RecordedCall(method, body, refusal is null, context.Connection.Id));
                if (refusal is not null)
                {
                    return Error(refusal.Code, refusal.Description, refusal.RetryAfter);
                }
                if (method == "sendMessageDraft")
                {
                    return Ok(true);
                }
                return Ok(new JsonObject
                {
                    ["message_id"] = Interlocked.Increment(ref _nextMessageId),
                    ["date"] = 1_700_000_000,
                    ["chat"] = new JsonObject { ["id"] = ChatOf(body), ["type"] = ChatOf(body) < 0 ? "supergroup" : "private" },
                    ["from"] = new JsonObject { ["id"] = Id, ["is_bot"] = true, ["first_name"] = "Osvi Test" },
                });
            default:
                // setWebhook, deleteWebhook, sendChatAction, setMyCommands, …
                Calls.Enqueue(new RecordedCall(method, body, true, context.Connection.Id));
                return Ok(true);
        }
    }

    private async Task<JsonArray> GetUpdatesAsync(JsonObject body, CancellationToken aborted)
    {
        var offset = body["offset"]?.GetValue<int>();
        var limit = body["limit"]?.GetValue<int>() ?? 100;
        var timeout = TimeSpan.FromSeconds(body["timeout"]?.GetValue<int>() ?? 0);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Task arrived;
            lock (_gate)
            {
                if (offset is { } o && o > _confirmedOffset)
                {
                    _confirmedOffset = o;
                }
                // Confirmed updates are kept (not removed) so ForgetConfirmations can hand them out again, as after a crash.
                var unconfirmed = _pending.Where(u => u["update_id"]!.GetValue<int>() >= _confirmedOffset).Take(limit).ToList();
                if (unconfirmed.Count > 0)
                {
                    return new JsonArray(unconfirmed.Select(u => (JsonNode)u.DeepClone()).ToArray());
                }
                arrived = _updateArrived.Task;
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return [];
            }
            try
            {
                await arrived.WaitAsync(left, aborted);
            }
            catch (TimeoutException)
            {
                return [];
            }
        }
    }

    private static IResult Ok(JsonNode result) =>
        Results.Content(new JsonObject { ["ok"] = true, ["result"] = result }.ToJsonString(), "application/json");

    private static IResult Error(int code, string description, int? retryAfter = null, long? migrateToChatId = null)
    {
        var error = new JsonObject { ["ok"] = false, ["error_code"] = code, ["description"] = description };
        if (retryAfter is not null)
        {
            error["parameters"] = new JsonObject { ["retry_after"] = retryAfter };
        }
        if (migrateToChatId is not null)
        {
            error["parameters"] = new JsonObject { ["migrate_to_chat_id"] = migrateToChatId };
        }
        return Results.Content(error.ToJsonString(), "application/json", statusCode: code);
    }

    private static async Task<JsonObject> ReadBodyAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var text = await reader.ReadToEndAsync(context.RequestAborted);
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }
        try
        {
            return JsonNode.Parse(text) as JsonObject ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    public sealed record RecordedCall(string Method, JsonObject Body, bool Delivered, string ConnectionId = "");

    /// <summary>An error the fake answers instead of delivering.</summary>
    public sealed record ScriptedError(int Code, string Description, int? RetryAfter = null, long? MigrateToChatId = null)
    {
        public static ScriptedError MigratedTo(long supergroupId) =>
            new(400, "Bad Request: group chat was upgraded to a supergroup chat", MigrateToChatId: supergroupId);
        public static ScriptedError TooManyRequests(int retryAfter) => new(429, $"Too Many Requests: retry after {retryAfter}", retryAfter);
        public static ScriptedError CantParseEntities => new(400, "Bad Request: can't parse entities: Unsupported start tag \"foo\" at byte offset 0");
        public static ScriptedError Blocked => new(403, "Forbidden: bot was blocked by the user");
    }
}
