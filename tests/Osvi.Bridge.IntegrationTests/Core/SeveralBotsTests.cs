using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.IntegrationTests.Slack;
using Osvi.Bridge.IntegrationTests.Telegram;
using static Osvi.Bridge.IntegrationTests.Telegram.FakeTelegramServer;

namespace Osvi.Bridge.IntegrationTests.Core;

/// <summary>
/// Several Telegram bots and Slack apps in one bridge, each answered by its own agent: the real worker
/// against one stand-in per bot or app, the fake OSVI (which tells agents apart) and a real redis-server.
/// </summary>
public sealed class SeveralBotsTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private const long SalesBotId = 654321;
    private const string SalesAgent = "agent_Sales_0002-def";
    private const string SalesAppId = "A0SALES";
    private const string SalesBotToken = "xoxb-sales-bot-token";
    private const string SalesAppToken = "xapp-sales-app-token";
    private const string SalesBotUser = "USALESBOT";
    private const string SigningSecret = "test-signing-secret";
    private const string SalesSigningSecret = "sales-signing-secret";

    private readonly List<BridgeHost> _hosts = [];
    private readonly List<IAsyncDisposable> _fakes = [];
    private FakeOsviServer _osvi = null!;

    public async Task InitializeAsync()
    {
        _osvi = await FakeOsviServer.StartAsync();
        _osvi.WelcomeMessage = null;
        _osvi.Agents[SalesAgent] = true;
        // Every answer names the agent of its session, so a reply shows who answered it.
        _osvi.Reply = (session, message) => $"{_osvi.StartedSessions.Single(s => s.Id == session).Agent}: {message}";
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }
        foreach (var fake in _fakes)
        {
            await fake.DisposeAsync();
        }
        await _osvi.DisposeAsync();
    }

    private async Task<T> FakeAsync<T>(Task<T> start) where T : IAsyncDisposable
    {
        var fake = await start;
        _fakes.Add(fake);
        return fake;
    }

    private async Task<BridgeHost> StartAsync(Dictionary<string, string?> settings)
    {
        var host = await BridgeHost.StartAsync(settings);
        _hosts.Add(host);
        return host;
    }

    /// <summary>Today's single bot (the default agent) plus a sales bot of Telegram:Bots with its own agent.</summary>
    private Dictionary<string, string?> TwoTelegramBots(FakeTelegramServer support, FakeTelegramServer sales, string? keyPrefix = null)
    {
        var settings = TelegramChannelTests.TelegramSettings(_osvi, support, redis, keyPrefix);
        settings["Telegram:Bots:0:BotToken"] = sales.BotToken;
        settings["Telegram:Bots:0:ApiBaseUrl"] = sales.BaseUrl;
        settings["Telegram:Bots:0:AgentUuid"] = SalesAgent;
        return settings;
    }

    private Dictionary<string, string?> TwoSlackApps(FakeSlackServer support, FakeSlackServer sales)
    {
        var settings = BridgeHost.BaseSettings(_osvi, redis);
        settings["Slack:BotToken"] = FakeSlackServer.BotToken;
        settings["Slack:AppToken"] = FakeSlackServer.AppToken;
        settings["Slack:ApiBaseUrl"] = support.ApiBaseUrl;
        settings["Slack:PostBurst"] = "100";
        settings["Slack:ReconnectDelay"] = "00:00:00.050";
        settings["Slack:RetryDelay"] = "00:00:00.010";
        settings["Slack:Apps:0:AppId"] = SalesAppId;
        settings["Slack:Apps:0:BotToken"] = SalesBotToken;
        settings["Slack:Apps:0:AppToken"] = SalesAppToken;
        settings["Slack:Apps:0:ApiBaseUrl"] = sales.ApiBaseUrl;
        settings["Slack:Apps:0:AgentUuid"] = SalesAgent;
        return settings;
    }

    [Fact]
    public async Task Two_telegram_bots_in_one_process_are_each_answered_by_their_own_agent_through_their_own_bot()
    {
        var support = await FakeAsync(FakeTelegramServer.StartAsync());
        var sales = await FakeAsync(FakeTelegramServer.StartAsync(SalesBotId));
        var prefix = RedisServerFixture.NewKeyPrefix();
        await StartAsync(TwoTelegramBots(support, sales, prefix));

        // One user writes to both bots; both stand-ins number their updates alike, so the update ids are equal.
        var supportUpdate = support.EnqueueMessage(Private(42, "hello support"));
        var salesUpdate = sales.EnqueueMessage(Private(42, "hello sales"));
        Assert.Equal(supportUpdate, salesUpdate);

        await support.WaitForTextAsync(42, $"{FakeOsviServer.Agent}: hello support");
        await sales.WaitForTextAsync(42, $"{SalesAgent}: hello sales");
        Assert.Equal([$"{FakeOsviServer.Agent}: hello support"], support.TextsTo(42));
        Assert.Equal([$"{SalesAgent}: hello sales"], sales.TextsTo(42));
        Assert.Equal([SalesAgent, FakeOsviServer.Agent], _osvi.StartedSessions.Select(s => s.Agent).Order(StringComparer.Ordinal));

        // The default bot's keys are those a single bot always had; the other bot's name it and its agent.
        var database = redis.Connection!.GetDatabase();
        Assert.True(await database.KeyExistsAsync($"{prefix}session:telegram:{BotId}:42"));
        Assert.True(await database.KeyExistsAsync($"{prefix}session:telegram:{SalesBotId}:42|agent:{SalesAgent}"));
        Assert.True(await database.KeyExistsAsync($"{prefix}seen:telegram:{BotId}:{supportUpdate}"));
        Assert.True(await database.KeyExistsAsync($"{prefix}seen:telegram:{SalesBotId}:{salesUpdate}"));
        Assert.True(await database.KeyExistsAsync($"{prefix}lease:telegram-poller:{BotId}"));
        Assert.True(await database.KeyExistsAsync($"{prefix}lease:telegram-poller:{SalesBotId}"));
    }

    [Fact]
    public async Task A_duplicate_update_id_across_two_bots_is_two_messages_and_a_redelivery_to_one_bot_stays_one()
    {
        var support = await FakeAsync(FakeTelegramServer.StartAsync());
        var sales = await FakeAsync(FakeTelegramServer.StartAsync(SalesBotId));
        var host = await StartAsync(TwoTelegramBots(support, sales));
        support.EnqueueMessage(Private(7, "first"));
        sales.EnqueueMessage(Private(7, "first"));
        await support.WaitForTextAsync(7, $"{FakeOsviServer.Agent}: first");
        await sales.WaitForTextAsync(7, $"{SalesAgent}: first");

        // The sales bot's Telegram forgets our confirmation and hands the update out again, with a new one behind it.
        sales.ForgetConfirmations();
        sales.EnqueueMessage(Private(7, "second"));
        await sales.WaitForTextAsync(7, $"{SalesAgent}: second");

        Assert.Equal([$"{SalesAgent}: first", $"{SalesAgent}: second"], sales.TextsTo(7));
        Assert.Equal([$"{FakeOsviServer.Agent}: first"], support.TextsTo(7));
        Assert.Equal(3, _osvi.Messages.Count);
        Assert.Equal(2, _osvi.Messages.Count(m => m.Agent == SalesAgent));
        Assert.False(host.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested);
    }

    [Fact]
    public async Task Two_slack_apps_in_one_workspace_are_each_answered_by_their_own_agent_through_their_own_app()
    {
        var support = await FakeAsync(FakeSlackServer.StartAsync());
        var sales = await FakeAsync(FakeSlackServer.StartAsync(SalesBotToken, SalesAppToken, SalesBotUser));
        await StartAsync(TwoSlackApps(support, sales));
        await support.WaitForSocketAsync(1);
        await sales.WaitForSocketAsync(1);

        // The same user, the same DM channel id and ts in both apps: two conversations all the same.
        var first = await support.PushAsync(SlackEvents.Dm("U1", "hello support", "100.000001"));
        var second = await sales.PushAsync(SlackEvents.Dm("U1", "hello sales", "100.000001"));

        await support.WaitForAckAsync(first);
        await sales.WaitForAckAsync(second);
        await support.WaitForTextsAsync("D1", null, $"{FakeOsviServer.Agent}: hello support");
        await sales.WaitForTextsAsync("D1", null, $"{SalesAgent}: hello sales");
        Assert.Equal([$"{FakeOsviServer.Agent}: hello support"], support.VisibleTexts("D1"));
        Assert.Equal([$"{SalesAgent}: hello sales"], sales.VisibleTexts("D1"));
        Assert.Equal([SalesAgent, FakeOsviServer.Agent], _osvi.StartedSessions.Select(s => s.Agent).Order(StringComparer.Ordinal));
        // Each app posted with its own token.
        Assert.All(sales.Calls.Where(c => c.Method == "chat.postMessage"), c => Assert.Equal("Bearer " + SalesBotToken, c.Authorization));
    }

    [Fact]
    public async Task A_mention_in_a_thread_of_a_further_app_brings_the_thread_parent_through_that_app()
    {
        var support = await FakeAsync(FakeSlackServer.StartAsync());
        var sales = await FakeAsync(FakeSlackServer.StartAsync(SalesBotToken, SalesAppToken, SalesBotUser));
        await StartAsync(TwoSlackApps(support, sales));
        await sales.WaitForSocketAsync(1);
        sales.ThreadParents["C1:300.000001"] = ("U2", null, "Which plan fits a team of ten?");

        var mention = SlackEvents.Mention("U1", "any idea?", "300.000005", threadTs: "300.000001");
        mention["event"]!["text"] = $"<@{SalesBotUser}> any idea?";
        await sales.PushAsync(mention);

        await Eventually.HoldsAsync(() => _osvi.Messages.Count == 1, "the sales agent is asked");
        var asked = Assert.Single(_osvi.Messages);
        Assert.Equal(SalesAgent, asked.Agent);
        Assert.Equal("[Replying to: \"Which plan fits a team of ten?\"]\nany idea?", asked.Text);
        // Read with the sales app's own token; the default app was not asked.
        Assert.Single(sales.CallsOf("conversations.replies"));
        Assert.Empty(support.CallsOf("conversations.replies"));
    }

    [Fact]
    public async Task Each_telegram_bot_has_its_own_webhook_path_and_secret()
    {
        var support = await FakeAsync(FakeTelegramServer.StartAsync());
        var sales = await FakeAsync(FakeTelegramServer.StartAsync(SalesBotId));
        var settings = TwoTelegramBots(support, sales);
        settings["Telegram:Mode"] = "Webhook";
        settings["Telegram:WebhookUrl"] = "https://bridge.example.com/telegram/webhook";
        settings["Telegram:WebhookSecret"] = "support-Secret_1";
        settings["Telegram:Bots:0:WebhookUrl"] = $"https://bridge.example.com/telegram/webhook/{SalesBotId}";
        settings["Telegram:Bots:0:WebhookSecret"] = "sales-Secret_2";
        var host = await StartAsync(settings);
        await Eventually.HoldsAsync(() => sales.CallsTo("setWebhook").Count > 0 && support.CallsTo("setWebhook").Count > 0, "setWebhook of both bots");
        Assert.Equal($"https://bridge.example.com/telegram/webhook/{SalesBotId}", sales.CallsTo("setWebhook").Single().Body["url"]?.ToString());
        Assert.Equal("sales-Secret_2", sales.CallsTo("setWebhook").Single().Body["secret_token"]?.ToString());
        await Eventually.HoldsAsync(() => ReadyzAsync(host).Result.Status == HttpStatusCode.OK, "/readyz 200");

        var update = sales.NewUpdate(Private(61, "via the sales webhook")).ToJsonString();
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(host, $"/telegram/webhook/{SalesBotId}", update, "support-Secret_1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(host, "/telegram/webhook/999", update, "sales-Secret_2")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(host, $"/telegram/webhook/{SalesBotId}", update, "sales-Secret_2")).StatusCode);
        var old = support.NewUpdate(Private(61, "via the old path")).ToJsonString();
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(host, "/telegram/webhook", old, "support-Secret_1")).StatusCode);

        await sales.WaitForTextAsync(61, $"{SalesAgent}: via the sales webhook");
        await support.WaitForTextAsync(61, $"{FakeOsviServer.Agent}: via the old path");
        Assert.Empty(support.CallsTo("getUpdates"));
        Assert.Empty(sales.CallsTo("getUpdates"));
    }

    [Fact]
    public async Task Each_slack_app_has_its_own_events_path_and_signing_secret()
    {
        var support = await FakeAsync(FakeSlackServer.StartAsync());
        var sales = await FakeAsync(FakeSlackServer.StartAsync(SalesBotToken, SalesAppToken, SalesBotUser));
        var settings = TwoSlackApps(support, sales);
        settings["Slack:AppToken"] = "";
        settings["Slack:SigningSecret"] = SigningSecret;
        settings["Slack:Apps:0:AppToken"] = "";
        settings["Slack:Apps:0:SigningSecret"] = SalesSigningSecret;
        var host = await StartAsync(settings);
        await Eventually.HoldsAsync(() => ReadyzAsync(host).Result.Status == HttpStatusCode.OK, "/readyz 200");

        var toSales = SlackEvents.Dm("U1", "signed for sales", "200.000001").ToJsonString();
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostSignedAsync(host, $"/slack/events/{SalesAppId}", toSales, SigningSecret)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await PostSignedAsync(host, "/slack/events/A0NOBODY", toSales, SalesSigningSecret)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostSignedAsync(host, $"/slack/events/{SalesAppId}", toSales, SalesSigningSecret)).StatusCode);
        var toSupport = SlackEvents.Dm("U1", "signed for support", "200.000002").ToJsonString();
        Assert.Equal(HttpStatusCode.OK, (await PostSignedAsync(host, "/slack/events", toSupport, SigningSecret)).StatusCode);

        await sales.WaitForTextsAsync("D1", null, $"{SalesAgent}: signed for sales");
        await support.WaitForTextsAsync("D1", null, $"{FakeOsviServer.Agent}: signed for support");

        // The slash command too: each app's Request URL is its own path, signed with its own secret.
        var help = FakeSlackServer.SlashCommand("/osvi", "help", "C1", "U1");
        var form = string.Join('&', help.Select(f => Uri.EscapeDataString(f.Key) + "=" + Uri.EscapeDataString(f.Value!.ToString())));
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostSignedAsync(host, $"/slack/commands/{SalesAppId}", form, SigningSecret)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await PostSignedAsync(host, "/slack/commands/A0NOBODY", form, SalesSigningSecret)).StatusCode);
        using var answered = await PostSignedAsync(host, $"/slack/commands/{SalesAppId}", form, SalesSigningSecret);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Contains("ephemeral", await answered.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bot_whose_token_telegram_refuses_is_named_on_readyz_and_the_other_bot_serves_on()
    {
        var support = await FakeAsync(FakeTelegramServer.StartAsync());
        var sales = await FakeAsync(FakeTelegramServer.StartAsync(SalesBotId));
        sales.RejectToken = true;
        var host = await StartAsync(TwoTelegramBots(support, sales));

        support.EnqueueMessage(Private(5, "anyone there?"));
        await support.WaitForTextAsync(5, $"{FakeOsviServer.Agent}: anyone there?");

        await Eventually.HoldsAsync(() => ReadyzAsync(host).Result.Body.Contains($"down: telegram:{SalesBotId}", StringComparison.Ordinal),
            "/readyz names the refused bot");
        await Eventually.HoldsAsync(() => host.Services.GetRequiredService<HotPathWarmUpState>().Done, "the start-up rehearsal to finish");
        var (status, body) = await ReadyzAsync(host);
        // Degraded, not unavailable: the replica keeps serving the bot that works.
        Assert.Equal(HttpStatusCode.OK, status);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("Degraded", json.RootElement.GetProperty("checks").GetProperty("channels").GetProperty("status").GetString());
        Assert.Contains("Telegram:Bots:0:BotToken", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_replicas_poll_each_bot_once_and_answer_both()
    {
        var support = await FakeAsync(FakeTelegramServer.StartAsync());
        var sales = await FakeAsync(FakeTelegramServer.StartAsync(SalesBotId));
        var prefix = RedisServerFixture.NewKeyPrefix();
        await StartAsync(TwoTelegramBots(support, sales, prefix));
        await StartAsync(TwoTelegramBots(support, sales, prefix));
        var database = redis.Connection!.GetDatabase();
        await Eventually.HoldsAsync(() => database.KeyExists($"{prefix}lease:telegram-poller:{BotId}")
            && database.KeyExists($"{prefix}lease:telegram-poller:{SalesBotId}"), "a poller lease per bot");

        for (var chat = 100; chat < 110; chat++)
        {
            support.EnqueueMessage(Private(chat, "support " + chat.ToString(CultureInfo.InvariantCulture)));
            sales.EnqueueMessage(Private(chat, "sales " + chat.ToString(CultureInfo.InvariantCulture)));
        }
        for (var chat = 100; chat < 110; chat++)
        {
            await support.WaitForTextAsync(chat, $"{FakeOsviServer.Agent}: support {chat}");
            await sales.WaitForTextAsync(chat, $"{SalesAgent}: sales {chat}");
        }
        for (var chat = 100; chat < 110; chat++)
        {
            Assert.Single(support.TextsTo(chat));
            Assert.Single(sales.TextsTo(chat));
        }
        Assert.Equal(20, _osvi.Messages.Count);
    }

    [Fact]
    public async Task Check_reports_each_bot_and_app_on_its_own_line()
    {
        var support = await FakeAsync(FakeTelegramServer.StartAsync());
        var sales = await FakeAsync(FakeTelegramServer.StartAsync(SalesBotId));
        sales.RejectToken = true;
        var slackSupport = await FakeAsync(FakeSlackServer.StartAsync());
        var slackSales = await FakeAsync(FakeSlackServer.StartAsync(SalesBotToken, SalesAppToken, SalesBotUser));
        var settings = TwoTelegramBots(support, sales);
        foreach (var pair in TwoSlackApps(slackSupport, slackSales))
        {
            settings[pair.Key] = pair.Value;
        }
        var output = new StringWriter();

        var code = await CheckCommand.RunAsync(
            settings.Where(p => p.Key != "urls").Select(p => $"--{p.Key}={p.Value}").ToArray(), output);

        var text = output.ToString();
        Assert.Contains($"[ OK ] channels: telegram, telegram:{SalesBotId}, slack, slack:{SalesAppId}", text, StringComparison.Ordinal);
        Assert.Contains($"[ OK ] telegram getMe: @{BotUsername} ({BotId})", text, StringComparison.Ordinal);
        Assert.Contains("[FAIL] telegram getMe (Telegram:Bots:0): Telegram refused: 401", text, StringComparison.Ordinal);
        Assert.Contains("(check Telegram:Bots:0:BotToken)", text, StringComparison.Ordinal);
        Assert.Contains("[ OK ] slack: auth.test ok: bot user UBOT", text, StringComparison.Ordinal);
        Assert.Contains($"[ OK ] slack (Slack:Apps:0, app {SalesAppId}): auth.test ok: bot user {SalesBotUser}", text, StringComparison.Ordinal);
        // The sales agent, named by both lists, is verified once, by the first key that names it.
        Assert.Contains($"[ OK ] osvi (Telegram:Bots:0:AgentUuid): token accepted; agent {SalesAgent} is active", text, StringComparison.Ordinal);
        Assert.DoesNotContain("osvi (Slack:Apps:0:AgentUuid)", text, StringComparison.Ordinal);
        Assert.Equal(BridgeProgram.ExitFailure, code);
    }

    private static async Task<(HttpStatusCode Status, string Body)> ReadyzAsync(BridgeHost host)
    {
        using var response = await host.Http.GetAsync(new Uri("/readyz", UriKind.Relative));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<HttpResponseMessage> PostAsync(BridgeHost host, string path, string json, string secret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Telegram-Bot-Api-Secret-Token", secret);
        return await host.Http.SendAsync(request);
    }

    private static async Task<HttpResponseMessage> PostSignedAsync(BridgeHost host, string path, string body, string secret)
    {
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
        request.Headers.Add("X-Slack-Signature", new SlackSignatureVerifier(secret, TimeProvider.System).Sign(timestamp, Encoding.UTF8.GetBytes(body)));
        return await host.Http.SendAsync(request);
    }
}
