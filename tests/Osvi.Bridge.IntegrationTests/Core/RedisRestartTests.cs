using Microsoft.Extensions.DependencyInjection;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.IntegrationTests.Core;

/// <summary>A Redis restart (with its append-only file, as in production) while the bridge works.</summary>
public sealed class RedisRestartTests : IAsyncLifetime
{
    private RedisNode _redis = null!;
    private FakeOsviServer _osvi = null!;
    private BridgeHost? _host;

    public async Task InitializeAsync()
    {
        _redis = await RedisNode.StartAsync("--appendonly", "yes", "--appendfsync", "always");
        _osvi = await FakeOsviServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        await _osvi.DisposeAsync();
        _redis.Dispose();
    }

    [Fact]
    public async Task A_redis_restart_under_traffic_loses_no_accepted_message_and_answers_each_once()
    {
        var settings = BridgeHost.BaseSettings(_osvi, null);
        settings["Redis:ConnectionString"] = _redis.Endpoint + ",abortConnect=false,connectTimeout=500";
        settings["Inbox:LeaseTimeout"] = "00:00:03";
        settings["Inbox:RetryDelay"] = "00:00:00.050";
        settings["Inbox:MaxRetryDelay"] = "00:00:00.200";
        settings["Inbox:MaxAttempts"] = "1000";
        settings["Bridge:SendWelcomeMessage"] = "false";
        var channel = new RecordingChannel();
        _host = await BridgeHost.StartAsync(settings, s => s.AddSingleton<IReplySender>(channel));
        _osvi.Latency = TimeSpan.FromMilliseconds(200);

        var before = Enumerable.Range(0, 30).Select(i => RecordingChannel.Message($"rr-{i}", "before")).ToList();
        await _host.Inbox.AcceptManyAsync(before, CancellationToken.None);
        await Eventually.HoldsAsync(() => _osvi.SendAttempts > 0, "work under way");

        await _redis.StopAsync();
        await _redis.StartAsync();
        var after = Enumerable.Range(0, 30).Select(i => RecordingChannel.Message($"rr-{i}", "after")).ToList();
        foreach (var message in after)
        {
            // While Redis comes back the inbox may refuse (an adapter would not acknowledge and the
            // platform would deliver again): try again as the platform would.
            await Eventually.HoldsAsync(() =>
            {
                try
                {
                    _host.Inbox.AcceptAsync(message, CancellationToken.None).AsTask().Wait();
                    return true;
                }
                catch (AggregateException)
                {
                    return false;
                }
            }, "the inbox accepts again");
        }

        try
        {
            await Eventually.HoldsAsync(() => Enumerable.Range(0, 30).All(i => channel.RepliesTo($"rr-{i}").Count == 2), "every message answered");
        }
        catch (TimeoutException)
        {
            var missing = Enumerable.Range(0, 30).Where(i => channel.RepliesTo($"rr-{i}").Count != 2)
                .Select(i => $"rr-{i}: [{string.Join(", ", channel.RepliesTo($"rr-{i}"))}]");
            throw new TimeoutException("not answered as expected: " + string.Join("; ", missing));
        }
        Assert.All(Enumerable.Range(0, 30), i => Assert.Equal(["echo: before", "echo: after"], channel.RepliesTo($"rr-{i}")));
    }
}
