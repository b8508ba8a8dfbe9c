using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.IntegrationTests.Slack;

/// <summary>The Slack channel in Events API mode: signed HTTP posts to the real worker's <c>/slack/events</c>.</summary>
public sealed class SlackEventsApiTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private const string SigningSecret = "test-signing-secret";

    private FakeOsviServer _osvi = null!;
    private FakeSlackServer _slack = null!;
    private BridgeHost _host = null!;

    public async Task InitializeAsync()
    {
        _osvi = await FakeOsviServer.StartAsync();
        _osvi.WelcomeMessage = null;
        _slack = await FakeSlackServer.StartAsync();
        _slack.DisplayNames["U1"] = "Alice";
        var settings = BridgeHost.BaseSettings(_osvi, redis);
        settings["Slack:BotToken"] = FakeSlackServer.BotToken;
        settings["Slack:SigningSecret"] = SigningSecret;
        settings["Slack:ApiBaseUrl"] = _slack.ApiBaseUrl;
        settings["Slack:PostBurst"] = "100";
        settings["Slack:RetryDelay"] = "00:00:00.010";
        _host = await BridgeHost.StartAsync(settings);
        // auth.test runs in the background; until it answered, events get 503.
        var board = _host.Services.GetRequiredService<ChannelStatusBoard>();
        await Eventually.HoldsAsync(() => board.Snapshot().Any(c => c.Channel == "slack" && c.Connected), "slack ready");
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _slack.DisposeAsync();
        await _osvi.DisposeAsync();
    }

    private static string Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    private static string Sign(string timestamp, string body) =>
        new SlackSignatureVerifier(SigningSecret, TimeProvider.System).Sign(timestamp, Encoding.UTF8.GetBytes(body));

    private async Task<HttpResponseMessage> PostAsync(string body, string? timestamp = null, string? signature = null, int? retryNum = null,
        bool omitHeaders = false)
    {
        timestamp ??= Now();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/slack/events")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (!omitHeaders)
        {
            request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
            request.Headers.Add("X-Slack-Signature", signature ?? Sign(timestamp, body));
        }
        if (retryNum is { } n)
        {
            request.Headers.Add("X-Slack-Retry-Num", n.ToString(CultureInfo.InvariantCulture));
            request.Headers.Add("X-Slack-Retry-Reason", "http_timeout");
        }
        return await _host.Http.SendAsync(request);
    }

    [Fact]
    public async Task Url_verification_answers_the_challenge()
    {
        using var response = await PostAsync("""{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_signed_dm_is_accepted_and_answered()
    {
        using var response = await PostAsync(SlackEvents.Dm("U1", "hello", "100.000001").ToJsonString());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await _slack.WaitForTextsAsync("D1", null, "echo: hello");
        Assert.Equal("Alice", _osvi.StartedSessions.Single().PersonName);
        Assert.True(_host.Services.GetRequiredService<ChannelStatusBoard>().Snapshot().Single(s => s.Channel == "slack").Connected);
    }

    [Fact]
    public async Task Bad_stale_future_and_missing_signatures_are_refused_before_parsing()
    {
        var body = SlackEvents.Dm("U1", "forged", "200.000001").ToJsonString();
        var stale = DateTimeOffset.UtcNow.AddMinutes(-6).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var future = DateTimeOffset.UtcNow.AddMinutes(6).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

        using var wrongSecret = await PostAsync(body, signature: "v0=" + new string('0', 64));
        using var staleStamp = await PostAsync(body, timestamp: stale, signature: Sign(stale, body));
        using var futureStamp = await PostAsync(body, timestamp: future, signature: Sign(future, body));
        using var missing = await PostAsync(body, omitHeaders: true);
        using var notJsonUnsigned = await PostAsync("{not json", signature: "v0=00");

        Assert.All(new[] { wrongSecret, staleStamp, futureStamp, missing, notJsonUnsigned },
            r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));

        // A genuine event afterwards is the only one answered.
        using var genuine = await PostAsync(SlackEvents.Dm("U1", "genuine", "200.000002").ToJsonString());
        await _slack.WaitForTextsAsync("D1", null, "echo: genuine");
        Assert.Equal(["genuine"], _osvi.Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task Malformed_json_with_a_good_signature_is_a_bad_request()
    {
        using var response = await PostAsync("{\"type\": \"event_callback\", ");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task A_signed_body_that_is_not_utf8_is_a_bad_request()
    {
        var json = Encoding.UTF8.GetBytes(SlackEvents.Dm("U1", "XX", "250.000001").ToJsonString());
        var at = Array.IndexOf(json, (byte)'X');
        json[at] = 0xFF;
        json[at + 1] = 0xFE;
        var timestamp = Now();
        var signature = new SlackSignatureVerifier(SigningSecret, TimeProvider.System).Sign(timestamp, json);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/slack/events") { Content = new ByteArrayContent(json) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
        request.Headers.Add("X-Slack-Signature", signature);
        using var invalidUtf8 = await _host.Http.SendAsync(request);
        using var loneSurrogate = await PostAsync(
            SlackEvents.Dm("U1", "LONE", "250.000002").ToJsonString().Replace("LONE", "\\uD800", StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.BadRequest, invalidUtf8.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, loneSurrogate.StatusCode);
        Assert.Empty(_osvi.Messages);
    }

    [Fact]
    public async Task Unsigned_and_stale_requests_are_refused_before_their_body_is_read()
    {
        var stale = DateTimeOffset.UtcNow.AddMinutes(-6).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        foreach (var headers in new[] { "", $"X-Slack-Request-Timestamp: {Now()}\r\n", $"X-Slack-Request-Timestamp: {stale}\r\nX-Slack-Signature: v0={new string('0', 64)}\r\n" })
        {
            // A raw connection announcing a 1 MiB body and sending only its first bytes: an answer
            // now means the bridge judged the headers alone, without waiting for (or buffering) the body.
            using var tcp = new System.Net.Sockets.TcpClient();
            await tcp.ConnectAsync(_host.BaseAddress.Host, _host.BaseAddress.Port);
            var stream = tcp.GetStream();
            var head = $"POST /slack/events HTTP/1.1\r\nHost: {_host.BaseAddress.Authority}\r\nContent-Type: application/json\r\n" +
                $"Content-Length: {SlackEventsEndpoint.MaxBodyBytes}\r\n{headers}\r\n{{\"x\":\"";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));

            using var reader = new StreamReader(stream, Encoding.ASCII);
            var statusLine = await reader.ReadLineAsync().WaitAsync(Eventually.Limit);
            Assert.StartsWith("HTTP/1.1 401", statusLine, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_body_over_one_megabyte_is_refused()
    {
        var body = "{\"x\":\"" + new string('a', SlackEventsEndpoint.MaxBodyBytes) + "\"}";
        using var response = await PostAsync(body);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task A_message_above_MaxInboundLength_gets_the_polite_reply_once_and_never_reaches_the_agent()
    {
        const string tooLong = "Your message is too long for me. Please keep it under 8000 characters.";
        var body = SlackEvents.Dm("U1", new string('x', BridgeOptions.DefaultMaxInboundLength + 1), "500.000001").ToJsonString();

        using var first = await PostAsync(body);
        await _slack.WaitForTextsAsync("D1", null, tooLong);
        using var retry = await PostAsync(body, retryNum: 1);
        using var next = await PostAsync(SlackEvents.Dm("U1", "short", "501.000001").ToJsonString());

        Assert.All(new[] { first, retry, next }, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        await _slack.WaitForTextsAsync("D1", null, tooLong, "echo: short");
        Assert.Equal(["short"], _osvi.Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task A_retried_event_is_acknowledged_and_processed_once()
    {
        var body = SlackEvents.Mention("U1", "retry me", "300.000001").ToJsonString();

        using var first = await PostAsync(body);
        using var retry = await PostAsync(body, retryNum: 1);
        using var secondRetry = await PostAsync(body, retryNum: 2);
        using var next = await PostAsync(SlackEvents.Mention("U1", "next", "301.000001", threadTs: "300.000001").ToJsonString());

        Assert.All(new[] { first, retry, secondRetry, next }, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        await _slack.WaitForTextsAsync("C1", "300.000001", "echo: retry me", "echo: next");
        Assert.Equal(["retry me", "next"], _osvi.Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task Slack_gets_200_before_a_slow_agent_answers()
    {
        var agentMayAnswer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var agentAsked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _osvi.Reply = (_, message) =>
        {
            agentAsked.TrySetResult();
            agentMayAnswer.Task.Wait(TimeSpan.FromSeconds(20));
            return "slow: " + message;
        };

        using var response = await PostAsync(SlackEvents.Dm("U1", "take your time", "400.000001").ToJsonString());

        // The HTTP answer came while the agent is still held (it may already have been asked): nothing answered yet.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(agentMayAnswer.Task.IsCompleted);
        Assert.DoesNotContain(_slack.VisibleTexts("D1"), t => t.StartsWith("slow:", StringComparison.Ordinal));

        await agentAsked.Task.WaitAsync(TimeSpan.FromSeconds(20));
        agentMayAnswer.SetResult();
        await _slack.WaitForTextsAsync("D1", null, "slow: take your time");
    }

    [Fact]
    public async Task Ignored_events_and_other_callbacks_get_200()
    {
        using var ownMessage = await PostAsync(SlackEvents.Dm(FakeSlackServer.BotUserId, "mine", "500.000001").ToJsonString());
        using var rateLimited = await PostAsync(new JsonObject { ["type"] = "app_rate_limited", ["minute_rate_limited"] = 1 }.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, ownMessage.StatusCode);
        Assert.Equal(HttpStatusCode.OK, rateLimited.StatusCode);
    }
}
