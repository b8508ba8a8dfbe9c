using Microsoft.Extensions.DependencyInjection;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.IntegrationTests.Core;

/// <summary>The durable inbox on a real redis-server: several bridges on one Redis act as one.</summary>
public sealed class DurableInboxTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private readonly List<BridgeHost> _hosts = [];
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

    private async Task<BridgeHost> StartBridgeAsync(string prefix, RecordingChannel channel, Action<Dictionary<string, string?>>? tweak = null)
    {
        var settings = BridgeHost.BaseSettings(_osvi, redis, prefix);
        settings["Inbox:LeaseTimeout"] = "00:00:03";
        settings["Inbox:RetryDelay"] = "00:00:00.050";
        tweak?.Invoke(settings);
        var host = await BridgeHost.StartAsync(settings, s => s.AddSingleton<IReplySender>(channel));
        _hosts.Add(host);
        return host;
    }

    [Fact]
    public async Task Replies_in_order_across_two_replicas_whichever_accepted_each_message()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var channel = new RecordingChannel();
        // One answer per message is what this pins: merging queued follow-ups is off.
        var a = await StartBridgeAsync(prefix, channel, s => (s["Bridge:SendWelcomeMessage"], s["Bridge:MergeQueuedMessages"]) = ("false", "false"));
        var b = await StartBridgeAsync(prefix, channel, s => (s["Bridge:SendWelcomeMessage"], s["Bridge:MergeQueuedMessages"]) = ("false", "false"));
        // The first message is slow: a replica that ran the next ones at once would answer them first.
        _osvi.Reply = (_, text) =>
        {
            if (text == "m0")
            {
                Thread.Sleep(500);
            }
            return "echo: " + text;
        };

        var messages = Enumerable.Range(0, 10).Select(i => RecordingChannel.Message("zoe", $"m{i}")).ToList();
        for (var i = 0; i < messages.Count; i++)
        {
            await (i % 2 == 0 ? a : b).Inbox.AcceptAsync(messages[i], CancellationToken.None);
        }

        await Eventually.HoldsAsync(() => channel.RepliesTo("zoe").Count == 10, "ten replies");
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"echo: m{i}"), channel.RepliesTo("zoe"));
        Assert.Equal(1, _osvi.PeakConcurrentMessages);
    }

    [Fact]
    public async Task Two_replicas_share_the_partitions_and_both_work()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var channel = new RecordingChannel();
        var a = await StartBridgeAsync(prefix, channel);
        var b = await StartBridgeAsync(prefix, channel);
        var inboxA = a.Services.GetRequiredService<RedisStreamInbox>();
        var inboxB = b.Services.GetRequiredService<RedisStreamInbox>();

        await Eventually.HoldsAsync(() => inboxA.HeldPartitions.Count == 8 && inboxB.HeldPartitions.Count == 8, "8 partitions each");
        Assert.Empty(inboxA.HeldPartitions.Intersect(inboxB.HeldPartitions));

        var messages = Enumerable.Range(0, 40).Select(i => RecordingChannel.Message($"share-{i}", "hi")).ToList();
        var handledA = messages.Select(a.Handled.Watch).ToList();
        var handledB = messages.Select(b.Handled.Watch).ToList();
        await a.Inbox.AcceptManyAsync(messages, CancellationToken.None);

        await Eventually.HoldsAsync(() => channel.Replies.Count(r => r.Text == "echo: hi") == 40, "forty answers");
        // Everything was accepted by one replica; both worked on it.
        Assert.Contains(handledA, h => h.IsCompleted);
        Assert.Contains(handledB, h => h.IsCompleted);
    }

    [Fact]
    public async Task A_stopped_replica_leaves_its_backlog_to_the_other_which_answers_it()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var channel = new RecordingChannel();
        var a = await StartBridgeAsync(prefix, channel, s =>
        {
            s["Bridge:MaxConcurrency"] = "2";
            s["Bridge:ShutdownTimeout"] = "00:00:00.5";
        });
        _osvi.Latency = TimeSpan.FromMilliseconds(400);
        var messages = Enumerable.Range(0, 20).Select(i => RecordingChannel.Message($"backlog-{i}", "hi")).ToList();
        await a.Inbox.AcceptManyAsync(messages, CancellationToken.None);
        await Eventually.HoldsAsync(() => channel.Replies.Count > 0, "a first answer");

        await a.StopAsync();
        var answeredByA = channel.Replies.Count;
        Assert.True(answeredByA < 20, "the shutdown timeout should have left work behind");
        _osvi.Latency = TimeSpan.Zero;
        await StartBridgeAsync(prefix, channel);

        await Eventually.HoldsAsync(() => messages.All(m => channel.RepliesTo(m.ReplyTarget.ChatId).Count(r => r == "echo: hi") >= 1), "every message answered");
        Assert.All(messages, m => Assert.Single(channel.RepliesTo(m.ReplyTarget.ChatId), r => r == "echo: hi"));
    }

    [Fact]
    public async Task A_reply_the_platform_cannot_take_now_is_delivered_once_it_is_back_without_asking_the_agent_again()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var channel = new RecordingChannel();
        var outage = true;
        channel.FailWith = text => Volatile.Read(ref outage) && text.StartsWith("echo", StringComparison.Ordinal)
            ? new HttpRequestException("Connection refused (platform outage)") : null;
        var host = await StartBridgeAsync(prefix, channel);
        var message = RecordingChannel.Message("otto", "hello");
        var handled = host.Handled.Watch(message);
        await host.Inbox.AcceptAsync(message, CancellationToken.None);
        await Eventually.HoldsAsync(() => _osvi.Messages.Count == 1 && channel.RepliesTo("otto").Count == 1, "the agent answered and the welcome went out");

        Volatile.Write(ref outage, false);
        Assert.Equal(DeliveryResult.Finished, await handled.WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal(["Hi! I'm the test agent.", "echo: hello"], channel.RepliesTo("otto"));
        Assert.Single(_osvi.Messages);
    }

    [Fact]
    public async Task A_poison_message_is_dead_lettered_the_conversation_goes_on_and_the_command_retries_it()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var channel = new RecordingChannel();
        var poisoned = true;
        channel.FailWith = text => Volatile.Read(ref poisoned) && text == "echo: poison" ? new HttpRequestException("Bad gateway") : null;
        var host = await StartBridgeAsync(prefix, channel, s =>
        {
            s["Inbox:MaxAttempts"] = "3";
            s["Bridge:SendWelcomeMessage"] = "false";
        });
        var poison = RecordingChannel.Message("pat", "poison");
        var next = RecordingChannel.Message("pat", "next");
        var handled = new[] { host.Handled.Watch(poison), host.Handled.Watch(next) };
        await host.Inbox.AcceptManyAsync([poison, next], CancellationToken.None);

        Assert.Equal([DeliveryResult.DeadLettered, DeliveryResult.Finished], await Task.WhenAll(handled).WaitAsync(TimeSpan.FromSeconds(30)));
        // On its last attempt the user heard that something went wrong; the next message was answered.
        Assert.Equal(["Sorry, I can't reach the assistant right now. Please try again in a few minutes.", "echo: next"], channel.RepliesTo("pat"));

        var args = new[] { $"--Redis:ConnectionString={redis.ConnectionString}", $"--Redis:KeyPrefix={prefix}" };
        var listing = new StringWriter();
        Assert.Equal(0, await DeadLettersCommand.RunAsync(["list", .. args], listing, TextWriter.Null));
        var line = Assert.Single(listing.ToString().Split('\n'), l => l.Contains("test:pat", StringComparison.Ordinal));
        Assert.Contains("gave up after 3 attempts", line, StringComparison.Ordinal);
        Assert.Contains("Bad gateway", line, StringComparison.Ordinal);

        Volatile.Write(ref poisoned, false);
        var retried = host.Handled.Watch(poison);
        Assert.Equal(0, await DeadLettersCommand.RunAsync(["retry", "all", .. args], TextWriter.Null, TextWriter.Null));
        Assert.Equal(DeliveryResult.Finished, await retried.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("echo: poison", channel.RepliesTo("pat").Last());
        var empty = new StringWriter();
        Assert.Equal(0, await DeadLettersCommand.RunAsync(["list", .. args], empty, TextWriter.Null));
        Assert.Contains("0 dead letter(s).", empty.ToString(), StringComparison.Ordinal);
    }
}
