using Microsoft.Extensions.DependencyInjection;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.IntegrationTests.Core;

/// <summary>
/// Bridge:MergeQueuedMessages end to end: follow-ups that queue while the agent thinks go to it as one
/// turn, with both inboxes, and a merged turn interrupted by a stop is replayed once, as one turn.
/// </summary>
public sealed class MergedFollowUpTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private readonly List<BridgeHost> _hosts = [];
    private FakeOsviServer _osvi = null!;

    public async Task InitializeAsync()
    {
        _osvi = await FakeOsviServer.StartAsync();
        _osvi.WelcomeMessage = null;
    }

    public async Task DisposeAsync()
    {
        _osvi.ReleaseAnswers();
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }
        await _osvi.DisposeAsync();
    }

    private async Task<(BridgeHost Host, RecordingChannel Channel)> StartBridgeAsync(bool useRedis, string? prefix = null, Action<Dictionary<string, string?>>? tweak = null)
    {
        var settings = BridgeHost.BaseSettings(_osvi, useRedis ? redis : null, prefix ?? RedisServerFixture.NewKeyPrefix());
        tweak?.Invoke(settings);
        var channel = new RecordingChannel();
        var host = await BridgeHost.StartAsync(settings, s => s.AddSingleton<IReplySender>(channel));
        _hosts.Add(host);
        return (host, channel);
    }

    private static int Pending(BridgeHost host) => host.Inbox switch
    {
        InMemoryInbox memory => memory.Pending,
        RedisStreamInbox durable => durable.Pending,
        _ => throw new InvalidOperationException("unknown inbox"),
    };

    /// <summary>Sends a first message, and while the agent holds its answer, three follow-ups; returns the watches of all four.</summary>
    private async Task<List<Task<DeliveryResult>>> SendWhileAgentThinksAsync(BridgeHost host, string chat, params string[] followUps)
    {
        _osvi.HoldAnswers();
        var first = RecordingChannel.Message(chat, "first");
        var watches = new List<Task<DeliveryResult>> { host.Handled.Watch(first) };
        await host.Inbox.AcceptAsync(first, CancellationToken.None);
        await Eventually.HoldsAsync(() => _osvi.Held == 1, "the agent is asked the first message");
        foreach (var text in followUps)
        {
            var message = RecordingChannel.Message(chat, text);
            watches.Add(host.Handled.Watch(message));
            await host.Inbox.AcceptAsync(message, CancellationToken.None);
        }
        await Eventually.HoldsAsync(() => Pending(host) == 1 + followUps.Length, "the follow-ups wait for their turn");
        return watches;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Follow_ups_written_while_the_agent_thinks_reach_it_as_one_turn(bool useRedis)
    {
        var (host, channel) = await StartBridgeAsync(useRedis);

        var watches = await SendWhileAgentThinksAsync(host, "alice", "second", "third", "fourth");
        _osvi.ReleaseAnswers();
        await Task.WhenAll(watches).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.All(watches, w => Assert.Equal(DeliveryResult.Finished, w.Result));
        Assert.Equal(["first", "second\nthird\nfourth"], _osvi.Messages.Select(m => m.Text));
        Assert.Equal(["echo: first", "echo: second\nthird\nfourth"], channel.RepliesTo("alice"));
    }

    [Fact]
    public async Task A_command_among_follow_ups_keeps_its_own_turn_and_place()
    {
        var (host, channel) = await StartBridgeAsync(useRedis: false);

        var watches = await SendWhileAgentThinksAsync(host, "carol", "second", "/help", "third", "fourth");
        _osvi.ReleaseAnswers();
        await Task.WhenAll(watches).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(["first", "second", "third\nfourth"], _osvi.Messages.Select(m => m.Text));
        var replies = channel.RepliesTo("carol");
        Assert.Equal(4, replies.Count);
        Assert.Equal(["echo: first", "echo: second"], replies.Take(2));
        Assert.StartsWith("Just write your question", replies[2], StringComparison.Ordinal);
        Assert.Equal("echo: third\nfourth", replies[3]);
    }

    [Fact]
    public async Task With_merging_off_every_follow_up_is_its_own_turn()
    {
        var (host, channel) = await StartBridgeAsync(useRedis: false, tweak: s => s["Bridge:MergeQueuedMessages"] = "false");

        var watches = await SendWhileAgentThinksAsync(host, "dave", "second", "third");
        _osvi.ReleaseAnswers();
        await Task.WhenAll(watches).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(["first", "second", "third"], _osvi.Messages.Select(m => m.Text));
        Assert.Equal(["echo: first", "echo: second", "echo: third"], channel.RepliesTo("dave"));
    }

    [Fact]
    public async Task A_merged_turn_cut_off_by_a_stop_is_replayed_once_as_one_turn()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var (host, _) = await StartBridgeAsync(useRedis: true, prefix, s => s["Bridge:ShutdownTimeout"] = "00:00:00");

        await SendWhileAgentThinksAsync(host, "erin", "second", "third");
        // Answer the first; the merged turn then waits at the agent when the bridge stops without waiting.
        var first = _osvi.Messages.Count;
        _osvi.ReleaseAnswers();
        _osvi.HoldAnswers();
        await Eventually.HoldsAsync(() => _osvi.Held == 1 && _osvi.Messages.Count == first + 1, "the merged turn is at the agent");
        await host.StopAsync();
        _osvi.ReleaseAnswers();

        var (next, channel) = await StartBridgeAsync(useRedis: true, prefix);
        var stream = prefix + "inbox:{p" + RedisStreamInbox.PartitionOf(RecordingChannel.Message("erin", "x").Conversation, 16) + "}:stream";
        var database = redis.Connection!.GetDatabase();
        await Eventually.HoldsAsync(() => channel.RepliesTo("erin").Count >= 1 && database.StreamLength(stream) == 0 && Pending(next) == 0,
            "the replayed turn is answered and its entries left the inbox");

        Assert.Equal(["echo: second\nthird"], channel.RepliesTo("erin"));
        // The cut-off call never answered (the fake records answered calls): the replay asked the joined text once.
        Assert.Equal(["first", "second\nthird"], _osvi.Messages.Select(m => m.Text));
    }
}
