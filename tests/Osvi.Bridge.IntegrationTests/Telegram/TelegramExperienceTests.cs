using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.Telemetry;
using static Osvi.Bridge.IntegrationTests.Telegram.FakeTelegramServer;

namespace Osvi.Bridge.IntegrationTests.Telegram;

/// <summary>
/// What a Telegram user meets beyond the plain answer: the thinking draft and its Stop button, the
/// command menu, quoted context, tables, and a poller that survives a hung long poll.
/// </summary>
public sealed class TelegramExperienceTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private readonly List<BridgeHost> _hosts = [];
    private FakeOsviServer _osvi = null!;
    private FakeTelegramServer _telegram = null!;

    public async Task InitializeAsync()
    {
        _osvi = await FakeOsviServer.StartAsync();
        _osvi.WelcomeMessage = null;
        _telegram = await FakeTelegramServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _osvi.ReleaseAnswers();
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }
        await _telegram.DisposeAsync();
        await _osvi.DisposeAsync();
    }

    private async Task<BridgeHost> StartBridgeAsync(Action<Dictionary<string, string?>>? tweak = null, bool useRedis = true)
    {
        var settings = TelegramChannelTests.TelegramSettings(_osvi, _telegram, useRedis ? redis : null, RedisServerFixture.NewKeyPrefix());
        settings["Telegram:DraftRefreshInterval"] = "00:00:00.050";
        tweak?.Invoke(settings);
        var host = await BridgeHost.StartAsync(settings);
        _hosts.Add(host);
        return host;
    }

    private List<RecordedCall> CallsToChat(long chat) => _telegram.Calls.Where(c => ChatOf(c.Body) == chat).ToList();

    private IReadOnlyList<RecordedCall> DraftsTo(long chat) => _telegram.CallsTo("sendMessageDraft").Where(c => ChatOf(c.Body) == chat).ToList();

    [Fact]
    public async Task A_private_chat_sees_a_thinking_draft_refreshed_until_one_answer_replaces_it()
    {
        await StartBridgeAsync();
        _osvi.HoldAnswers();

        _telegram.EnqueueMessage(Private(61, "think hard"));
        await Eventually.HoldsAsync(() => DraftsTo(61).Count >= 2, "the draft is shown and refreshed");
        _osvi.ReleaseAnswers();
        await _telegram.WaitForTextAsync(61, "echo: think hard");

        var drafts = DraftsTo(61);
        Assert.All(drafts, d => Assert.Equal("", d.Body["text"]?.ToString()));
        Assert.All(drafts, d => Assert.True(d.Body["can_stop"]?.GetValue<bool>()));
        Assert.Single(drafts.Select(d => d.Body["draft_id"]!.GetValue<long>()).Distinct());
        Assert.NotEqual(0, drafts[0].Body["draft_id"]!.GetValue<long>());
        Assert.DoesNotContain(_telegram.CallsTo("sendChatAction"), c => ChatOf(c.Body) == 61);
        // One final sendMessage, after the last draft: a draft arriving later would show "Thinking…" again.
        var calls = CallsToChat(61).Select(c => c.Method).ToList();
        Assert.Equal(["sendMessage"], calls.Where(m => m == "sendMessage"));
        Assert.Equal("sendMessage", calls[^1]);
    }

    [Fact]
    public async Task Groups_and_a_refused_draft_get_typing_instead()
    {
        await StartBridgeAsync();
        _telegram.DraftRule = body => ChatOf(body) == 62 ? new ScriptedError(400, "Bad Request: drafts are not available in this chat") : null;
        _osvi.HoldAnswers();

        _telegram.EnqueueMessage(Private(62, "private but refused"));
        _telegram.EnqueueMessage(Group(-100620, 7, $"@{BotUsername} in a group", 5));
        await Eventually.HoldsAsync(() => _telegram.CallsTo("sendChatAction").Any(c => ChatOf(c.Body) == 62)
            && _telegram.CallsTo("sendChatAction").Any(c => ChatOf(c.Body) == -100620), "typing in both chats");
        _osvi.ReleaseAnswers();

        await _telegram.WaitForTextAsync(62, "echo: private but refused");
        await _telegram.WaitForTextAsync(-100620, "echo: in a group");
        Assert.Single(DraftsTo(62));
        Assert.Empty(DraftsTo(-100620));
    }

    [Fact]
    public async Task Stop_on_the_draft_keeps_that_turns_answer_from_being_sent()
    {
        var host = await StartBridgeAsync();
        using var stopped = new InstrumentCounter(host.Services.GetRequiredService<BridgeMetrics>().Meter, "osvi_bridge.messages.stopped");
        _osvi.HoldAnswers();

        _telegram.EnqueueMessage(Private(63, "a long question"));
        await Eventually.HoldsAsync(() => DraftsTo(63).Count >= 1, "the draft is shown");
        var draftId = DraftsTo(63)[0].Body["draft_id"]!.GetValue<long>();
        var stop = _telegram.EnqueueStop(63, draftId);
        // Confirmed (the next poll's offset is past it) means the bridge has taken the Stop in.
        await Eventually.HoldsAsync(() => _telegram.CallsTo("getUpdates").Any(c => c.Body["offset"]?.GetValue<int>() > stop), "the Stop is taken in");
        _osvi.ReleaseAnswers();
        await Eventually.HoldsAsync(() => stopped.Total == 1, "the answer is withheld");

        // The agent finished the turn (OSVI has no cancel call), the user saw nothing of it.
        Assert.Equal(["a long question"], _osvi.Messages.Select(m => m.Text));
        Assert.Empty(_telegram.TextsTo(63));

        _telegram.EnqueueMessage(Private(63, "next question"));
        await _telegram.WaitForTextAsync(63, "echo: next question");
        Assert.Equal(["echo: next question"], _telegram.TextsTo(63));
    }

    [Fact]
    public async Task A_hung_long_poll_is_abandoned_and_polling_goes_on()
    {
        _telegram.HangNextPolls(1);
        var host = await StartBridgeAsync(s => s["Telegram:PollWatchdogGrace"] = "00:00:01");
        using var abandoned = new InstrumentCounter(host.Services.GetRequiredService<BridgeMetrics>().Meter, "osvi_bridge.telegram.polls_abandoned");

        _telegram.EnqueueMessage(Private(64, "still there?"));

        await _telegram.WaitForTextAsync(64, "echo: still there?");
        Assert.Equal(1, _telegram.HungPolls);
        Assert.Equal(1, abandoned.Total);
    }

    [Fact]
    public async Task The_command_menu_is_set_for_private_chats_and_groups_with_the_configured_descriptions()
    {
        await StartBridgeAsync(s => s["Telegram:ResetCommandDescription"] = "Forget everything and start over");

        await Eventually.HoldsAsync(() => _telegram.CallsTo("setMyCommands").Count == 2, "both scopes set");
        var calls = _telegram.CallsTo("setMyCommands");
        Assert.Equal(["default", "all_group_chats"], calls.Select(c => c.Body["scope"]?["type"]?.ToString()));
        foreach (var call in calls)
        {
            var commands = call.Body["commands"]!.AsArray().Select(c => (c!["command"]!.ToString(), c["description"]!.ToString())).ToList();
            Assert.Equal([("start", "Start talking to the assistant"), ("reset", "Forget everything and start over"), ("help", "How to use this assistant")], commands);
        }
    }

    [Fact]
    public async Task A_quoted_message_reaches_the_agent_before_the_users_words_unless_it_is_the_bots()
    {
        await StartBridgeAsync();
        const long group = -100650;

        var quoting = Group(group, 7, $"@{BotUsername} is that right?", 21);
        quoting["reply_to_message"] = Group(group, 8, "The deadline is Friday.", 20);
        _telegram.EnqueueMessage(quoting);
        await _telegram.WaitForSentAsync(s => s.Count(m => ChatOf(m) == group) == 1, "the first answer");

        var toBot = Group(group, 7, "and after that?", 23);
        toBot["reply_to_message"] = new JsonObject
        {
            ["message_id"] = 22, ["date"] = 1_700_000_000, ["text"] = "echo: earlier",
            ["chat"] = new JsonObject { ["id"] = group, ["type"] = "supergroup" },
            ["from"] = new JsonObject { ["id"] = BotId, ["is_bot"] = true, ["first_name"] = "Osvi Test" },
        };
        _telegram.EnqueueMessage(toBot);
        await _telegram.WaitForSentAsync(s => s.Count(m => ChatOf(m) == group) == 2, "the second answer");

        Assert.Equal(["[Replying to: \"The deadline is Friday.\"]\nis that right?", "and after that?"], _osvi.Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task A_table_goes_out_as_a_rich_message_and_as_a_monospaced_block_where_telegram_refuses_that()
    {
        const string table = "Prices:\n\n| plan | price |\n|---|---|\n| Basic | 5 € |\n| Pro | 12 € |";
        _osvi.Reply = (_, _) => table;
        await StartBridgeAsync();

        _telegram.EnqueueMessage(Private(66, "prices?"));
        await Eventually.HoldsAsync(() => _telegram.SentRichMessages.Any(m => ChatOf(m) == 66), "the rich message");
        Assert.Equal(table, _telegram.SentRichMessages.Single(m => ChatOf(m) == 66)["rich_message"]?["markdown"]?.ToString());
        Assert.Empty(_telegram.TextsTo(66));

        _telegram.RichMessageRule = _ => new ScriptedError(400, "Bad Request: rich messages are not available");
        _telegram.EnqueueMessage(Private(67, "prices again?"));
        var sent = await _telegram.WaitForSentAsync(s => s.Any(m => ChatOf(m) == 67), "the fallback");
        var html = sent.Single(m => ChatOf(m) == 67)["text"]!.ToString();
        Assert.Equal("Prices:\n\n<pre>plan  | price\n------+------\nBasic | 5 €\nPro   | 12 €</pre>", html);
    }
}
