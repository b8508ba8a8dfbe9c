using Microsoft.Extensions.DependencyInjection;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.IntegrationTests.Core;

/// <summary>
/// What the resilience pipeline repeats to OSVI, counted at the stand-ins: a message is not handed to the
/// agent again while it may still be working on it, and a request that never left is sent again.
/// </summary>
public sealed class OsviRetryTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private const string Sorry = "Sorry, I can't reach the assistant right now. Please try again in a few minutes.";
    private readonly List<IAsyncDisposable> _resources = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var resource in Enumerable.Reverse(_resources))
        {
            await resource.DisposeAsync();
        }
    }

    private async Task<(BridgeHost Host, RecordingChannel Channel)> StartBridgeAsync(Dictionary<string, string?> settings)
    {
        var channel = new RecordingChannel();
        var host = await BridgeHost.StartAsync(settings, s => s.AddSingleton<IReplySender>(channel));
        _resources.Add(host);
        return (host, channel);
    }

    private static async Task SendAsync(BridgeHost host, InboundMessage message)
    {
        await host.HandleAsync(message, TimeSpan.FromSeconds(60));
    }

    // The settings of issue 12's report: before, OSVI received every message three times.
    private static void SlowerThanOneAttempt(Dictionary<string, string?> settings)
    {
        settings["Osvi:RequestTimeout"] = "00:00:02";
        settings["Osvi:TotalTimeout"] = "00:00:08";
        settings["Osvi:MaxRetries"] = "4";
        settings["Osvi:RetryDelay"] = "00:00:01";
    }

    [Fact]
    public async Task Legacy_a_slow_agent_beyond_the_attempt_timeout_is_asked_once()
    {
        var osvi = await FakeOsviServer.StartAsync();
        _resources.Add(osvi);
        var settings = BridgeHost.BaseSettings(osvi, redis);
        SlowerThanOneAttempt(settings);
        var (host, channel) = await StartBridgeAsync(settings);
        await SendAsync(host, RecordingChannel.Message("sam", "warm up"));
        var before = osvi.SendAttempts;
        osvi.Latency = TimeSpan.FromSeconds(5);

        await SendAsync(host, RecordingChannel.Message("sam", "take your time"));

        Assert.Equal(1, osvi.SendAttempts - before);
        Assert.Equal(Sorry, channel.RepliesTo("sam").Last());
    }

    [Fact]
    public async Task V1_a_slow_agent_beyond_the_attempt_timeout_is_asked_once()
    {
        var osvi = await FakeOsviV1Server.StartAsync();
        _resources.Add(osvi);
        var settings = BridgeHost.BaseSettings(osvi, redis);
        SlowerThanOneAttempt(settings);
        var (host, channel) = await StartBridgeAsync(settings);
        await SendAsync(host, RecordingChannel.Message("sue", "warm up"));
        var before = osvi.InboundAttempts;
        osvi.Latency = TimeSpan.FromSeconds(5);

        await SendAsync(host, RecordingChannel.Message("sue", "take your time"));

        Assert.Equal(1, osvi.InboundAttempts - before);
        Assert.Equal(Sorry, channel.RepliesTo("sue").Last());
    }

    [Fact]
    public async Task A_session_start_that_could_not_connect_is_retried_once_OSVI_listens()
    {
        var port = LoopbackServer.FreePort();
        var settings = BridgeHost.BaseSettings($"http://127.0.0.1:{port}", redis);
        // Slow back-off, many retries: room for the stand-in to come up between two attempts.
        settings["Osvi:RetryDelay"] = "00:00:01";
        settings["Osvi:MaxRetries"] = "10";
        settings["Osvi:TotalTimeout"] = "00:01:00";
        var (host, channel) = await StartBridgeAsync(settings);
        using var retries = new InstrumentCounter(host.Services.GetRequiredService<BridgeMetrics>().Meter, "osvi_bridge.retries", new("target", "osvi"));

        var ray = RecordingChannel.Message("ray", "are you up?");
        var handled = host.Handled.Watch(ray);
        await host.Inbox.AcceptAsync(ray, CancellationToken.None);
        await Eventually.HoldsAsync(() => retries.Total > 0, "a refused connection to OSVI is retried");
        var osvi = await FakeOsviServer.StartAsync(port);
        _resources.Add(osvi);
        await handled.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Single(osvi.StartedSessions);
        Assert.Equal(1, osvi.SendAttempts);
        Assert.Equal(["Hi! I'm the test agent.", "echo: are you up?"], channel.RepliesTo("ray"));
    }
}
