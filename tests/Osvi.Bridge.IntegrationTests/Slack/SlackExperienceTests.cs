using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.IntegrationTests.Slack;

/// <summary>
/// The slash command (<c>/osvi reset</c> | <c>help</c>) in Socket Mode and over the signed Events API,
/// the quoted thread parent, and tables as code blocks.
/// </summary>
public sealed class SlackExperienceTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private const string SigningSecret = "test-signing-secret";
    private FakeOsviServer _osvi = null!;
    private FakeSlackServer _slack = null!;
    private BridgeHost? _host;

    public async Task InitializeAsync()
    {
        _osvi = await FakeOsviServer.StartAsync();
        _osvi.WelcomeMessage = null;
        _slack = await FakeSlackServer.StartAsync();
        _slack.DisplayNames["U1"] = "Alice";
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        await _slack.DisposeAsync();
        await _osvi.DisposeAsync();
    }

    private async Task<BridgeHost> StartBridgeAsync(bool socketMode, Action<Dictionary<string, string?>>? tweak = null)
    {
        var settings = BridgeHost.BaseSettings(_osvi, redis, RedisServerFixture.NewKeyPrefix());
        settings["Slack:BotToken"] = FakeSlackServer.BotToken;
        settings[socketMode ? "Slack:AppToken" : "Slack:SigningSecret"] = socketMode ? FakeSlackServer.AppToken : SigningSecret;
        settings["Slack:ApiBaseUrl"] = _slack.ApiBaseUrl;
        settings["Slack:PostBurst"] = "100";
        settings["Slack:ReconnectDelay"] = "00:00:00.050";
        settings["Slack:RetryDelay"] = "00:00:00.010";
        tweak?.Invoke(settings);
        _host = await BridgeHost.StartAsync(settings);
        if (socketMode)
        {
            await _slack.WaitForSocketAsync(1);
        }
        else
        {
            var board = _host.Services.GetRequiredService<ChannelStatusBoard>();
            await Eventually.HoldsAsync(() => board.Snapshot().Any(c => c.Channel == "slack" && c.Connected), "slack ready");
        }
        return _host;
    }

    private async Task<HttpResponseMessage> PostCommandAsync(BridgeHost host, JsonObject fields, string? signature = null)
    {
        var body = string.Join('&', fields.Select(f => Uri.EscapeDataString(f.Key) + "=" + Uri.EscapeDataString(f.Value!.ToString())));
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/slack/commands")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
        request.Headers.Add("X-Slack-Signature", signature ?? new SlackSignatureVerifier(SigningSecret, TimeProvider.System).Sign(timestamp, Encoding.UTF8.GetBytes(body)));
        return await host.Http.SendAsync(request);
    }

    [Fact]
    public async Task Slash_reset_in_socket_mode_starts_a_new_session_for_the_dm()
    {
        await StartBridgeAsync(socketMode: true);
        await _slack.PushAsync(SlackEvents.Dm("U1", "hello", "100.000001"));
        await _slack.WaitForTextsAsync("D1", null, "echo: hello");

        var envelope = await _slack.PushSlashCommandAsync("/osvi", "reset", "D1", "U1");
        await _slack.WaitForAckAsync(envelope);
        await _slack.WaitForTextsAsync("D1", null, "echo: hello", "Started a new conversation. What can I help you with?");
        await _slack.PushAsync(SlackEvents.Dm("U1", "again", "101.000001"));
        await _slack.WaitForTextsAsync("D1", null, "echo: hello", "Started a new conversation. What can I help you with?", "echo: again");

        Assert.Equal(2, _osvi.StartedSessions.Count);
        Assert.NotEqual(_osvi.Messages.First().SessionId, _osvi.Messages.Last().SessionId);
        Assert.False(_slack.AckPayloads.ContainsKey(envelope));
    }

    [Fact]
    public async Task Slash_help_in_a_channel_answers_ephemerally_in_the_acknowledgement()
    {
        await StartBridgeAsync(socketMode: true);

        var help = await _slack.PushSlashCommandAsync("/osvi", "help", "C1", "U1");
        var reset = await _slack.PushSlashCommandAsync("/osvi", "reset", "C1", "U1");
        await _slack.WaitForAckAsync(help);
        await _slack.WaitForAckAsync(reset);

        Assert.StartsWith("Just write your question", _slack.AckPayloads[help]["text"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal("ephemeral", _slack.AckPayloads[help]["response_type"]!.ToString());
        Assert.Contains("/osvi reset works in a direct message", _slack.AckPayloads[reset]["text"]!.ToString(), StringComparison.Ordinal);
        Assert.Empty(_slack.CallsOf("chat.postMessage"));
        Assert.Empty(_osvi.StartedSessions);
    }

    [Fact]
    public async Task Slash_commands_over_the_events_api_are_signed_and_answered()
    {
        var host = await StartBridgeAsync(socketMode: false, s => s["Slack:SlashCommand"] = "/assistant");

        Assert.Equal(HttpStatusCode.Unauthorized, (await PostCommandAsync(host, FakeSlackServer.SlashCommand("/assistant", "help", "D1", "U1"), signature: "v0=bad")).StatusCode);

        using var help = await PostCommandAsync(host, FakeSlackServer.SlashCommand("/assistant", "help", "C1", "U1"));
        Assert.Equal(HttpStatusCode.OK, help.StatusCode);
        var ephemeral = JsonNode.Parse(await help.Content.ReadAsStringAsync())!;
        Assert.Equal("ephemeral", ephemeral["response_type"]!.ToString());

        using var reset = await PostCommandAsync(host, FakeSlackServer.SlashCommand("/assistant", "reset", "D1", "U1"));
        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        await _slack.WaitForTextsAsync("D1", null, "Started a new conversation. What can I help you with?");

        // Another app's command (or the old name) is acknowledged and does nothing.
        using var other = await PostCommandAsync(host, FakeSlackServer.SlashCommand("/osvi", "reset", "D1", "U1"));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal(string.Empty, await other.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_mention_in_someone_elses_thread_brings_the_thread_parent_as_context_once()
    {
        await StartBridgeAsync(socketMode: true);
        _slack.ThreadParents["C1:300.000001"] = ("U2", null, "Our VPN drops every hour &amp; nobody knows why");
        _slack.ThreadParents["C1:400.000001"] = (FakeSlackServer.BotUserId, FakeSlackServer.BotId, "echo: an earlier answer");

        async Task AskAsync(string text, string ts, string? threadTs)
        {
            var before = _osvi.Messages.Count;
            await _slack.PushAsync(SlackEvents.Mention("U1", $"<@{FakeSlackServer.BotUserId}> {text}", ts, threadTs: threadTs));
            await Eventually.HoldsAsync(() => _osvi.Messages.Count == before + 1, "the agent is asked: " + text);
        }

        await AskAsync("any idea?", "300.000005", "300.000001");
        await AskAsync("and now?", "300.000007", "300.000001");
        await AskAsync("in the bot's thread", "400.000003", "400.000001");
        await AskAsync("at top level", "500.000001", null);

        Assert.Equal(["[Replying to: \"Our VPN drops every hour & nobody knows why\"]\nany idea?", "and now?", "in the bot's thread", "at top level"],
            _osvi.Messages.Select(m => m.Text));
        Assert.Equal(2, _slack.CallsOf("conversations.replies").Count);
    }

    [Fact]
    public async Task A_table_in_an_answer_arrives_as_a_code_block()
    {
        _osvi.Reply = (_, _) => "| plan | price |\n|---|---|\n| Basic | 5 |";
        await StartBridgeAsync(socketMode: true);

        await _slack.PushAsync(SlackEvents.Dm("U1", "prices?", "600.000001"));

        await _slack.WaitForTextsAsync("D1", null, "```\nplan  | price\n------+------\nBasic | 5\n```");
    }
}
