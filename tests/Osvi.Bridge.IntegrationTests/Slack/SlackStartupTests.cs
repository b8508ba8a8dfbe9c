using System.Globalization;
using System.Net;
using System.Text;
using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.IntegrationTests.Infrastructure;

namespace Osvi.Bridge.IntegrationTests.Slack;

/// <summary>Slack's start-up runs behind the listener: health at once, not ready (and events 503) until auth.test answered.</summary>
public sealed class SlackStartupTests : IAsyncLifetime
{
    private const string SigningSecret = "startup-signing-secret";

    private FakeOsviServer _osvi = null!;
    private FakeSlackServer _slack = null!;

    public async Task InitializeAsync()
    {
        _osvi = await FakeOsviServer.StartAsync();
        _osvi.WelcomeMessage = null;
        _slack = await FakeSlackServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _slack.DisposeAsync();
        await _osvi.DisposeAsync();
    }

    [Fact]
    public async Task Events_get_503_and_readyz_fails_while_auth_test_is_pending_and_both_recover_once_it_answers()
    {
        var authTest = _slack.Hold("auth.test");
        var settings = BridgeHost.BaseSettings(_osvi, null);
        settings["Slack:BotToken"] = FakeSlackServer.BotToken;
        settings["Slack:SigningSecret"] = SigningSecret;
        settings["Slack:ApiBaseUrl"] = _slack.ApiBaseUrl;
        await using var host = await BridgeHost.StartAsync(settings);
        await Eventually.HoldsAsync(() => _slack.CallsOf("auth.test").Count == 1, "auth.test asked");

        using var health = await host.Http.GetAsync(new Uri("/healthz", UriKind.Relative));
        using var notReady = await host.Http.GetAsync(new Uri("/readyz", UriKind.Relative));
        using var early = await PostSignedAsync(host, SlackEvents.Dm("U1", "too early", "100.000001").ToJsonString());

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Contains("auth.test", await notReady.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, early.StatusCode);

        authTest.SetResult();
        await Eventually.HoldsAsync(() => host.Http.GetAsync(new Uri("/readyz", UriKind.Relative)).Result.StatusCode == HttpStatusCode.OK, "/readyz 200");
        // Slack redelivers the refused event; now it is taken.
        using var redelivered = await PostSignedAsync(host, SlackEvents.Dm("U1", "too early", "100.000001").ToJsonString());
        Assert.Equal(HttpStatusCode.OK, redelivered.StatusCode);
        await _slack.WaitForTextsAsync("D1", null, "echo: too early");
    }

    [Fact]
    public async Task A_bot_token_slack_refuses_ends_the_process_with_exit_2_naming_the_key()
    {
        _slack.RejectBotToken = true;
        var error = new StringWriter();
        var original = Console.Error;
        Console.SetError(error);
        int code;
        try
        {
            code = await BridgeProgram.RunAsync([
                "--urls=http://127.0.0.1:0",
                "--Osvi:BaseUrl=" + _osvi.BaseUrl,
                "--Osvi:ApiToken=" + FakeOsviServer.Token,
                "--Osvi:AgentUuid=" + FakeOsviServer.Agent,
                "--Redis:ConnectionString=",
                "--Telegram:BotToken=",
                "--Slack:BotToken=" + FakeSlackServer.BotToken,
                "--Slack:AppToken=" + FakeSlackServer.AppToken,
                "--Slack:ApiBaseUrl=" + _slack.ApiBaseUrl,
                "--Logging:LogLevel:Default=None",
            ]);
        }
        finally
        {
            Console.SetError(original);
        }

        Assert.Equal(BridgeProgram.ExitConfiguration, code);
        Assert.Contains("Slack:BotToken", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("invalid_auth", error.ToString(), StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> PostSignedAsync(BridgeHost host, string body)
    {
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var signature = new SlackSignatureVerifier(SigningSecret, TimeProvider.System).Sign(timestamp, Encoding.UTF8.GetBytes(body));
        var request = new HttpRequestMessage(HttpMethod.Post, "/slack/events") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
        request.Headers.Add("X-Slack-Signature", signature);
        return host.Http.SendAsync(request);
    }
}
