using Microsoft.Extensions.DependencyInjection;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.IntegrationTests.Core;

/// <summary>The durable inbox and the session store on a real three-node Redis Cluster.</summary>
public sealed class ClusterInboxTests(RedisClusterFixture cluster) : IClassFixture<RedisClusterFixture>, IAsyncLifetime
{
    private readonly List<BridgeHost> _hosts = [];
    private readonly string _prefix = RedisServerFixture.NewKeyPrefix();
    private FakeOsviServer _osvi = null!;

    public async Task InitializeAsync() => _osvi = await FakeOsviServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }
        await _osvi.DisposeAsync();
    }

    private async Task<BridgeHost> StartBridgeAsync(RecordingChannel channel, Action<Dictionary<string, string?>>? tweak = null)
    {
        var settings = BridgeHost.BaseSettings(_osvi, null, _prefix);
        settings["Redis:ConnectionString"] = cluster.ConnectionString;
        settings["Inbox:LeaseTimeout"] = "00:00:03";
        settings["Inbox:RetryDelay"] = "00:00:00.050";
        settings["Bridge:SendWelcomeMessage"] = "false";
        tweak?.Invoke(settings);
        var host = await BridgeHost.StartAsync(settings, s => s.AddSingleton<IReplySender>(channel));
        _hosts.Add(host);
        return host;
    }

    [Fact]
    public async Task Replies_in_order_across_two_replicas_on_a_cluster_and_partitions_spread_over_its_nodes()
    {
        var channel = new RecordingChannel();
        // One answer per message is what this pins: merging queued follow-ups is off.
        var a = await StartBridgeAsync(channel, s => s["Bridge:MergeQueuedMessages"] = "false");
        var b = await StartBridgeAsync(channel, s => s["Bridge:MergeQueuedMessages"] = "false");
        _osvi.Reply = (_, text) =>
        {
            if (text.EndsWith("-0", StringComparison.Ordinal))
            {
                Thread.Sleep(300);
            }
            return "echo: " + text;
        };

        // Ten conversations of five messages each, alternating between the replicas, the first of each slow.
        for (var i = 0; i < 5; i++)
        {
            for (var c = 0; c < 10; c++)
            {
                await (i % 2 == 0 ? a : b).Inbox.AcceptAsync(RecordingChannel.Message($"cl-{c}", $"c{c}-{i}"), CancellationToken.None);
            }
        }

        await Eventually.HoldsAsync(() => channel.Replies.Count == 50, "fifty replies");
        for (var c = 0; c < 10; c++)
        {
            Assert.Equal(Enumerable.Range(0, 5).Select(i => $"echo: c{c}-{i}"), channel.RepliesTo($"cl-{c}"));
        }
        Assert.True(await cluster.NodesHoldingAsync(_prefix + "inbox:") >= 2, "the inbox partitions should be spread over the cluster's nodes");
    }

    [Fact]
    public async Task Two_first_messages_on_two_replicas_start_one_session_on_a_cluster()
    {
        var channel = new RecordingChannel();
        var a = await StartBridgeAsync(channel);
        var b = await StartBridgeAsync(channel);
        _osvi.SessionLatency = TimeSpan.FromMilliseconds(200);

        await a.Inbox.AcceptAsync(RecordingChannel.Message("first", "one"), CancellationToken.None);
        await b.Inbox.AcceptAsync(RecordingChannel.Message("first", "two"), CancellationToken.None);

        await Eventually.HoldsAsync(() => channel.RepliesTo("first").Count == 2, "both answered");
        var session = Assert.Single(_osvi.StartedSessions).Id;
        Assert.All(_osvi.Messages, m => Assert.Equal(session, m.SessionId));
        Assert.Equal(["echo: one", "echo: two"], channel.RepliesTo("first"));
    }

    [Fact]
    public async Task A_stopped_replicas_backlog_and_a_poison_message_are_handled_on_a_cluster()
    {
        var channel = new RecordingChannel();
        channel.FailWith = text => text == "echo: poison" ? new HttpRequestException("Bad gateway") : null;
        var a = await StartBridgeAsync(channel, s =>
        {
            s["Bridge:MaxConcurrency"] = "2";
            s["Bridge:ShutdownTimeout"] = "00:00:00.3";
            s["Inbox:MaxAttempts"] = "2";
        });
        _osvi.Latency = TimeSpan.FromMilliseconds(300);
        var messages = Enumerable.Range(0, 12).Select(i => RecordingChannel.Message($"left-{i}", "hi")).Append(RecordingChannel.Message("poisoned", "poison")).ToList();
        await a.Inbox.AcceptManyAsync(messages, CancellationToken.None);
        await Eventually.HoldsAsync(() => channel.Replies.Count > 0, "a first answer");
        await a.StopAsync();

        _osvi.Latency = TimeSpan.Zero;
        var b = await StartBridgeAsync(channel, s => s["Inbox:MaxAttempts"] = "2");
        await Eventually.HoldsAsync(() => Enumerable.Range(0, 12).All(i => channel.RepliesTo($"left-{i}").Contains("echo: hi")), "the backlog answered");
        Assert.All(Enumerable.Range(0, 12), i => Assert.Single(channel.RepliesTo($"left-{i}"), r => r == "echo: hi"));

        var listing = new StringWriter();
        await Eventually.HoldsAsync(() =>
        {
            listing = new StringWriter();
            return DeadLettersCommand.RunAsync(["list", $"--Redis:ConnectionString={cluster.ConnectionString}", $"--Redis:KeyPrefix={_prefix}"],
                listing, TextWriter.Null).Result == 0 && listing.ToString().Contains("test:poisoned", StringComparison.Ordinal);
        }, "the poison message dead-lettered");
        Assert.NotNull(b);
    }

    [Fact]
    public async Task The_start_up_rehearsal_runs_on_a_cluster_and_leaves_no_key_on_any_node()
    {
        var host = await StartBridgeAsync(new RecordingChannel());
        await Eventually.HoldsAsync(() => host.Services.GetRequiredService<HotPathWarmUpState>().Done, "the start-up rehearsal to finish");
        var channel = new RecordingChannel();

        await using (var pipeline = RehearsalPipeline.Create(host.Services))
        {
            await RehearsalRun.OneMessageAsync(pipeline, channel, "c1");
            Assert.Equal([RehearsalPipeline.AgentAnswer], channel.RepliesTo("c1"));
        }

        foreach (var server in cluster.Connection!.GetServers().Where(s => !s.IsReplica))
        {
            Assert.Empty(server.Keys(pattern: _prefix + "rehearsal:*"));
        }
        Assert.Empty(_osvi.StartedSessions);
    }
}
