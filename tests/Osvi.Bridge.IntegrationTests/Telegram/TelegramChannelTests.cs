using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Osvi.Bridge.Formatting;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using static Osvi.Bridge.IntegrationTests.Telegram.FakeTelegramServer;

namespace Osvi.Bridge.IntegrationTests.Telegram;

/// <summary>The Telegram channel end to end: the real worker against a fake Bot API, a fake OSVI and a real redis-server.</summary>
public sealed class TelegramChannelTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private const string Welcome = "Hi! I'm the test agent.";
    private readonly List<BridgeHost> _hosts = [];
    private FakeOsviServer _osvi = null!;
    private FakeTelegramServer _telegram = null!;

    public async Task InitializeAsync()
    {
        _osvi = await FakeOsviServer.StartAsync();
        _telegram = await FakeTelegramServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }
        await _telegram.DisposeAsync();
        await _osvi.DisposeAsync();
    }

    private async Task<BridgeHost> StartBridgeAsync(string? keyPrefix = null, Action<Dictionary<string, string?>>? tweak = null)
    {
        var settings = TelegramSettings(_osvi, _telegram, redis, keyPrefix);
        tweak?.Invoke(settings);
        var host = await BridgeHost.StartAsync(settings);
        _hosts.Add(host);
        return host;
    }

    internal static Dictionary<string, string?> TelegramSettings(FakeOsviServer osvi, FakeTelegramServer telegram, RedisServerFixture? redis, string? keyPrefix = null)
    {
        var settings = BridgeHost.BaseSettings(osvi, redis, keyPrefix);
        settings["Telegram:BotToken"] = Token;
        settings["Telegram:ApiBaseUrl"] = telegram.BaseUrl;
        settings["Telegram:PollingTimeout"] = "00:00:01";
        settings["Telegram:PollingRetryDelay"] = "00:00:00.050";
        settings["Telegram:ConflictRetryDelay"] = "00:00:00.050";
        settings["Telegram:TypingInterval"] = "00:00:00.050";
        settings["Telegram:TypingDelay"] = "00:00:00";
        settings["Telegram:SendRetryDelay"] = "00:00:00.010";
        settings["Telegram:PerChatRate"] = "100";
        settings["Telegram:GroupPerMinute"] = "6000";
        settings["Telegram:GlobalPerSecond"] = "1000";
        return settings;
    }

    [Fact]
    public async Task A_private_chat_round_trip_answers_in_html_without_quoting()
    {
        await StartBridgeAsync();

        _telegram.EnqueueMessage(Private(42, "hello <there> & you"));

        var reply = await _telegram.WaitForTextAsync(42, "echo: hello &lt;there&gt; &amp; you");
        Assert.Equal("Html", reply["parse_mode"]?.ToString(), ignoreCase: true);
        Assert.Null(reply["reply_parameters"]);
        Assert.Equal([Welcome, "echo: hello &lt;there&gt; &amp; you"], _telegram.TextsTo(42));
        Assert.Equal("Alice Liddell", _osvi.StartedSessions.Single().PersonName);
        Assert.Equal("hello <there> & you", _osvi.Messages.Single().Text);
        Assert.Contains(_telegram.Calls, c => c.Method == "deleteWebhook");
        Assert.All(_telegram.CallsTo("getUpdates"), c => Assert.Equal(["message", "stopped_message_generation"],
            c.Body["allowed_updates"]!.AsArray().Select(u => u!.ToString())));
    }

    [Fact]
    public async Task The_first_reply_finds_a_connection_opened_at_start_beside_the_long_poll()
    {
        await StartBridgeAsync();

        _telegram.EnqueueMessage(Private(43, "first"));
        await _telegram.WaitForTextAsync(43, "echo: first");

        // getMe and deleteWebhook went out side by side, so two connections were open before any
        // update; the reply's calls (typing, welcome, answer) used one of them, not a new one.
        var startUp = _telegram.Calls.Where(c => c.Method is "getMe" or "deleteWebhook").Select(c => c.ConnectionId).ToHashSet();
        Assert.Equal(2, startUp.Count);
        var replyCalls = _telegram.Calls.Where(c => c.Method is not ("getMe" or "deleteWebhook" or "getUpdates" or "setMyCommands")).ToList();
        Assert.NotEmpty(replyCalls);
        Assert.All(replyCalls, c => Assert.Contains(c.ConnectionId, startUp));
    }

    [Fact]
    public async Task The_session_survives_a_bridge_restart()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var first = await StartBridgeAsync(prefix);
        _telegram.EnqueueMessage(Private(43, "before"));
        await _telegram.WaitForTextAsync(43, "echo: before");
        await first.StopAsync();

        await StartBridgeAsync(prefix);
        _telegram.EnqueueMessage(Private(43, "after"));
        await _telegram.WaitForTextAsync(43, "echo: after");

        Assert.Single(_osvi.StartedSessions);
        Assert.Equal([Welcome, "echo: before", "echo: after"], _telegram.TextsTo(43));
    }

    [Fact]
    public async Task In_groups_only_messages_addressed_to_the_bot_are_answered_quoting_the_user()
    {
        await StartBridgeAsync();
        const long group = -100777;

        _telegram.EnqueueMessage(Group(group, 7, "just chatting among ourselves", 1));
        _telegram.EnqueueMessage(Group(group, 7, "/help@SomeOtherBot", 2));
        _telegram.EnqueueMessage(Group(group, 7, $"hey @{BotUsername} what time is it", 3));

        var reply = await _telegram.WaitForTextAsync(group, "echo: hey what time is it");
        Assert.Equal(3, reply["reply_parameters"]?["message_id"]?.GetValue<int>());
        Assert.True(reply["reply_parameters"]?["allow_sending_without_reply"]?.GetValue<bool>());
        Assert.Equal(["hey what time is it"], _osvi.Messages.Select(m => m.Text));

        _telegram.EnqueueMessage(Group(group, 7, $"/help@{BotUsername}", 4));
        await _telegram.WaitForSentAsync(s => s.Count(m => ChatOf(m) == group) == 3, "the help text");
        Assert.Single(_osvi.Messages);
    }

    [Fact]
    public async Task A_reply_to_a_group_upgraded_to_a_supergroup_goes_to_the_supergroup()
    {
        _osvi.WelcomeMessage = null;
        await StartBridgeAsync();
        const long group = -4242;
        const long supergroup = -1004242;
        _telegram.FailNextSends(ScriptedError.MigratedTo(supergroup));

        _telegram.EnqueueMessage(Group(group, 7, $"@{BotUsername} still there?", 1));

        await _telegram.WaitForTextAsync(supergroup, "echo: still there?");
        Assert.Empty(_telegram.TextsTo(group));
    }

    [Fact]
    public async Task Forum_topics_are_separate_conversations_answered_in_their_topic()
    {
        await StartBridgeAsync();
        const long forum = -100888;

        _telegram.EnqueueMessage(Group(forum, 7, $"@{BotUsername} in topic seven", 1, topic: 7));
        _telegram.EnqueueMessage(Group(forum, 7, $"@{BotUsername} in topic nine", 2, topic: 9));

        var seven = await _telegram.WaitForTextAsync(forum, "echo: in topic seven");
        var nine = await _telegram.WaitForTextAsync(forum, "echo: in topic nine");
        Assert.Equal(7, seven["message_thread_id"]?.GetValue<int>());
        Assert.Equal(9, nine["message_thread_id"]?.GetValue<int>());
        Assert.Equal(2, _osvi.StartedSessions.Count);
        Assert.Contains(_telegram.CallsTo("sendChatAction"), c => c.Body["message_thread_id"]?.GetValue<int>() == 7);
    }

    [Fact]
    public async Task Reset_starts_a_new_session()
    {
        await StartBridgeAsync();

        _telegram.EnqueueMessage(Private(44, "one"));
        await _telegram.WaitForTextAsync(44, "echo: one");
        _telegram.EnqueueMessage(Private(44, "/reset"));
        _telegram.EnqueueMessage(Private(44, "two"));
        await _telegram.WaitForTextAsync(44, "echo: two");

        Assert.Equal(2, _osvi.StartedSessions.Count);
        Assert.NotEqual(_osvi.Messages.First().SessionId, _osvi.Messages.Last().SessionId);
    }

    [Fact]
    public async Task A_ten_thousand_character_reply_is_split_losslessly()
    {
        var longReply = LongMarkdown(10_000);
        _osvi.Reply = (_, _) => longReply;
        _osvi.WelcomeMessage = null;
        await StartBridgeAsync();

        _telegram.EnqueueMessage(Private(45, "tell me everything"));

        var expected = TelegramMessageSplitter.ToPlainText(TelegramHtmlRenderer.Render(longReply));
        var sent = await _telegram.WaitForSentAsync(
            s => string.Concat(s.Where(m => ChatOf(m) == 45).Select(m => TelegramMessageSplitter.ToPlainText(m["text"]!.ToString()))).Length >= expected.Length,
            "the whole long reply");
        var parts = sent.Where(m => ChatOf(m) == 45).Select(m => m["text"]!.ToString()).ToList();
        Assert.True(parts.Count >= 3);
        Assert.All(parts, p => Assert.True(TelegramMessageSplitter.PlainLength(p) <= 4096));
        Assert.Equal(expected, string.Concat(parts.Select(TelegramMessageSplitter.ToPlainText)));
    }

    [Fact]
    public async Task A_429_is_honoured_and_the_message_resent()
    {
        _osvi.WelcomeMessage = null;
        await StartBridgeAsync();
        _telegram.FailNextSends(ScriptedError.TooManyRequests(1));

        _telegram.EnqueueMessage(Private(46, "slow down"));

        await _telegram.WaitForTextAsync(46, "echo: slow down");
        var attempts = _telegram.CallsTo("sendMessage").Where(c => ChatOf(c.Body) == 46).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.False(attempts[0].Delivered);
        Assert.Equal(attempts[0].Body["text"]?.ToString(), attempts[1].Body["text"]?.ToString());
    }

    [Fact]
    public async Task Html_that_telegram_cannot_parse_is_resent_as_plain_text()
    {
        _osvi.WelcomeMessage = null;
        _osvi.Reply = (_, _) => "**bold** & <b>raw</b>";
        _telegram.SendMessageRule = body => body["parse_mode"] is not null ? ScriptedError.CantParseEntities : null;
        await StartBridgeAsync();

        _telegram.EnqueueMessage(Private(47, "format this"));

        var plain = await _telegram.WaitForTextAsync(47, "bold & <b>raw</b>");
        Assert.Null(plain["parse_mode"]);
    }

    [Fact]
    public async Task Typing_is_shown_while_the_agent_works()
    {
        _osvi.Latency = TimeSpan.FromMilliseconds(300);
        await StartBridgeAsync(tweak: s => s["Telegram:ThinkingStyle"] = "Typing");

        _telegram.EnqueueMessage(Private(48, "think hard"));

        await _telegram.WaitForTextAsync(48, "echo: think hard");
        var typing = _telegram.CallsTo("sendChatAction").Where(c => ChatOf(c.Body) == 48).ToList();
        Assert.NotEmpty(typing);
        Assert.All(typing, c => Assert.Equal("typing", c.Body["action"]?.ToString()));
        // Typing stops before the answer goes out: one arriving later would show "typing…" for 5 s more.
        await Task.Delay(200);
        var toChat = _telegram.Calls.Where(c => ChatOf(c.Body) == 48).Select(c => c.Method).ToList();
        Assert.Equal("sendMessage", toChat[^1]);
    }

    [Fact]
    public async Task A_quick_answer_is_sent_without_a_typing_action()
    {
        await StartBridgeAsync(tweak: s => s["Telegram:TypingDelay"] = "00:00:02");

        _telegram.EnqueueMessage(Private(53, "quick"));

        await _telegram.WaitForTextAsync(53, "echo: quick");
        Assert.DoesNotContain(_telegram.CallsTo("sendChatAction"), c => ChatOf(c.Body) == 53);
    }

    [Fact]
    public async Task A_sticker_is_answered_with_the_notice_and_never_reaches_the_agent()
    {
        await StartBridgeAsync(tweak: s => s["Telegram:NonTextNotice"] = "Text only, please.");
        var sticker = Private(49, null);
        sticker.Remove("text");
        sticker["sticker"] = new JsonObject
        {
            ["file_id"] = "f", ["file_unique_id"] = "u", ["type"] = "regular", ["width"] = 512, ["height"] = 512,
            ["is_animated"] = false, ["is_video"] = false,
        };

        _telegram.EnqueueMessage(sticker);
        _telegram.Enqueue("edited_message", Private(49, "edited"));
        _telegram.EnqueueMessage(Private(49, "and now text"));

        await _telegram.WaitForTextAsync(49, "echo: and now text");
        Assert.Contains("Text only, please.", _telegram.TextsTo(49));
        Assert.Equal(["and now text"], _osvi.Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task A_blocked_bot_ends_the_reply_without_retrying()
    {
        _osvi.WelcomeMessage = null;
        await StartBridgeAsync();
        _telegram.FailNextSends(ScriptedError.Blocked);

        _telegram.EnqueueMessage(Private(50, "you blocked me"));
        _telegram.EnqueueMessage(Private(50, "unblocked again"));

        await _telegram.WaitForTextAsync(50, "echo: unblocked again");
        Assert.Equal(2, _telegram.CallsTo("sendMessage").Count(c => ChatOf(c.Body) == 50));
    }

    [Fact]
    public async Task Updates_are_answered_once_even_when_telegram_delivers_them_again_after_a_restart()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        _osvi.WelcomeMessage = null;
        var first = await StartBridgeAsync(prefix);
        var sticker = Private(51, null);
        sticker.Remove("text");
        sticker["sticker"] = new JsonObject { ["file_id"] = "f", ["file_unique_id"] = "u", ["type"] = "regular", ["width"] = 1, ["height"] = 1 };
        _telegram.EnqueueMessage(sticker);
        var id = _telegram.EnqueueMessage(Private(51, "only once"));
        await _telegram.WaitForTextAsync(51, "echo: only once");
        await _telegram.WaitForTextAsync(51, "I can only read text messages for now.");
        await first.StopAsync();
        Assert.Contains(_telegram.CallsTo("getUpdates"), c => c.Body["offset"]?.GetValue<int>() == id + 1);

        // As if the confirmation had been lost in a crash: Telegram hands the update out again.
        _telegram.ForgetConfirmations();
        _telegram.EnqueueMessage(Private(51, "next"));
        await StartBridgeAsync(prefix);

        await _telegram.WaitForTextAsync(51, "echo: next");
        Assert.Equal(["echo: only once", "echo: next"], _telegram.TextsTo(51).Where(t => t.StartsWith("echo", StringComparison.Ordinal)));
        // The redelivered sticker is not answered with a second notice either.
        Assert.Single(_telegram.TextsTo(51), t => t == "I can only read text messages for now.");
    }

    [Fact]
    public async Task A_409_conflict_is_retried_until_polling_works()
    {
        _osvi.WelcomeMessage = null;
        _telegram.ConflictNextPolls(2);
        await StartBridgeAsync();

        _telegram.EnqueueMessage(Private(52, "after the conflict"));

        await _telegram.WaitForTextAsync(52, "echo: after the conflict");
    }

    [Fact]
    public async Task Webhook_mode_sets_the_webhook_and_accepts_only_requests_with_the_secret()
    {
        _osvi.WelcomeMessage = null;
        var host = await StartBridgeAsync(tweak: s =>
        {
            s["Telegram:Mode"] = "Webhook";
            s["Telegram:WebhookUrl"] = "https://bridge.example.com/telegram/webhook";
            s["Telegram:WebhookSecret"] = "s3cret-Token_1";
        });
        // Registration runs in the background, after the listener is up.
        await Eventually.HoldsAsync(() => _telegram.CallsTo("setWebhook").Count > 0, "setWebhook");
        var setWebhook = Assert.Single(_telegram.CallsTo("setWebhook"));
        Assert.Equal("https://bridge.example.com/telegram/webhook", setWebhook.Body["url"]?.ToString());
        Assert.Equal("s3cret-Token_1", setWebhook.Body["secret_token"]?.ToString());
        Assert.Equal(["message", "stopped_message_generation"], setWebhook.Body["allowed_updates"]!.AsArray().Select(u => u!.ToString()));

        var update = _telegram.NewUpdate(Private(53, "via webhook")).ToJsonString();
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostWebhookAsync(host, update, secret: null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostWebhookAsync(host, update, secret: "wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostWebhookAsync(host, "{not json", secret: "s3cret-Token_1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostWebhookAsync(host, "{\"update_id\":1}", secret: "s3cret-Token_1")).StatusCode);
        var huge = "{\"update_id\":2,\"message\":{\"text\":\"" + new string('x', 2 * 1024 * 1024) + "\"}}";
        try
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await PostWebhookAsync(host, huge, secret: "s3cret-Token_1")).StatusCode);
        }
        catch (HttpRequestException ex) when (ex.InnerException is IOException)
        {
            // Kestrel answers 413 once the limit is passed and may close the connection while the
            // client is still writing the rest of the body: a refusal too (the next request shows the bridge is fine).
        }
        Assert.Equal(HttpStatusCode.OK, (await PostWebhookAsync(host, update, secret: "s3cret-Token_1")).StatusCode);

        await _telegram.WaitForTextAsync(53, "echo: via webhook");
        Assert.Empty(_telegram.CallsTo("getUpdates"));
    }

    private static async Task<HttpResponseMessage> PostWebhookAsync(BridgeHost host, string json, string? secret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/telegram/webhook") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (secret is not null)
        {
            request.Headers.Add("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        return await host.Http.SendAsync(request);
    }

    private static string LongMarkdown(int length)
    {
        var builder = new StringBuilder();
        for (var i = 0; builder.Length < length; i++)
        {
            builder.Append($"**Part {i}**: some text with `code` & <angle> brackets, repeated to fill the reply. ");
            builder.Append(string.Concat(Enumerable.Repeat("More words follow here. ", 8)));
            builder.Append("\n\n");
        }
        return builder.ToString();
    }
}
