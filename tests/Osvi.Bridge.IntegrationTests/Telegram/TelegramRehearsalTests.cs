using Microsoft.Extensions.DependencyInjection;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using static Osvi.Bridge.IntegrationTests.Telegram.FakeTelegramServer;

namespace Osvi.Bridge.IntegrationTests.Telegram;

/// <summary>The start-up rehearsal of the Telegram path on a real redis-server: private, and gone without a trace.</summary>
public sealed class TelegramRehearsalTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private FakeOsviServer _osvi = null!;
    private FakeTelegramServer _telegram = null!;

    public async Task InitializeAsync()
    {
        _osvi = await FakeOsviServer.StartAsync();
        _telegram = await FakeTelegramServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _telegram.DisposeAsync();
        await _osvi.DisposeAsync();
    }

    [Fact]
    public async Task The_rehearsal_leaves_no_key_in_Redis_and_reaches_neither_OSVI_nor_Telegram()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        await using var host = await BridgeHost.StartAsync(TelegramChannelTests.TelegramSettings(_osvi, _telegram, redis, prefix));
        await Eventually.HoldsAsync(() => host.Services.GetRequiredService<HotPathWarmUpState>().Done, "the start-up rehearsal to finish");

        // Once more by hand, now that nothing else runs (it throws unless every rehearsed message was answered).
        await host.Services.GetServices<IHotPathRehearsal>().Single(r => r.Name == "telegram").RunAsync(CancellationToken.None);

        var server = redis.Connection!.GetServers().Single();
        Assert.Empty(server.Keys(pattern: prefix + "rehearsal:*"));
        Assert.Empty(_osvi.StartedSessions);
        Assert.Empty(_osvi.Messages);
        Assert.Empty(_telegram.SentMessages);

        // The bridge's own path is untouched by it.
        _telegram.EnqueueMessage(Private(42, "hello"));
        await _telegram.WaitForTextAsync(42, "echo: hello");
        Assert.Single(_osvi.StartedSessions);
    }

    [Fact]
    public async Task Every_key_the_rehearsal_writes_expires_by_itself_so_a_process_killed_during_it_leaves_nothing_for_good()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        await using var host = await BridgeHost.StartAsync(TelegramChannelTests.TelegramSettings(_osvi, _telegram, redis, prefix));
        await Eventually.HoldsAsync(() => host.Services.GetRequiredService<HotPathWarmUpState>().Done, "the start-up rehearsal to finish");
        var channel = new RecordingChannel();
        var database = redis.Connection!.GetDatabase();
        var server = redis.Connection.GetServers().Single();

        await using (var pipeline = RehearsalPipeline.Create(host.Services))
        {
            await RehearsalRun.OneMessageAsync(pipeline, channel, "c1");

            // What a kill -9 at this point would leave: keys that all expire.
            var written = server.Keys(pattern: prefix + "rehearsal:*").ToList();
            Assert.NotEmpty(written);
            Assert.All(written, key => Assert.NotNull(database.KeyTimeToLive(key)));
            // The canned agent welcomed and answered, not the real one.
            Assert.Equal([RehearsalPipeline.AgentWelcome, RehearsalPipeline.AgentAnswer], channel.RepliesTo("c1"));
        }

        Assert.Empty(server.Keys(pattern: prefix + "rehearsal:*"));
        Assert.Empty(_osvi.StartedSessions);
    }
}
