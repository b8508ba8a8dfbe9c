using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Tests.Dispatching;

public sealed class DispatcherTests : IAsyncLifetime
{
    private static readonly AsyncLocal<string?> CallerState = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly List<Dispatcher> _dispatchers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var dispatcher in _dispatchers)
        {
            await dispatcher.StopAsync(CancellationToken.None);
            dispatcher.Dispose();
        }
        await _services.DisposeAsync();
    }

    [Fact]
    public async Task A_message_is_not_handled_in_the_context_of_the_code_that_accepted_it()
    {
        var handler = new RecordingHandler();
        var dispatcher = Create(handler);
        using var activity = new Activity("webhook request").Start();
        CallerState.Value = "request scope";

        var receipt = await dispatcher.AcceptAsync(Message("alice", "1"), CancellationToken.None);
        await receipt.Completion;

        var seen = Assert.Single(handler.Seen);
        Assert.Null(seen.CallerState);
        Assert.Null(seen.Activity);
    }

    [Fact]
    public async Task A_slot_going_on_to_another_conversation_does_not_carry_the_first_ones_context()
    {
        var handler = new RecordingHandler { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var dispatcher = Create(handler, maxConcurrency: 1);
        CallerState.Value = "first caller";
        var first = await dispatcher.AcceptAsync(Message("alice", "1"), CancellationToken.None);
        CallerState.Value = "second caller";
        var second = await dispatcher.AcceptAsync(Message("bob", "2"), CancellationToken.None);
        CallerState.Value = null;

        handler.Gate.SetResult();
        await Task.WhenAll(first.Completion, second.Completion);

        Assert.Equal(["1", "2"], handler.Seen.Select(s => s.MessageId));
        Assert.All(handler.Seen, s => Assert.Null(s.CallerState));
    }

    [Fact]
    public async Task No_more_messages_run_at_once_than_there_are_slots_and_every_one_runs()
    {
        var handler = new RecordingHandler { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var dispatcher = Create(handler, maxConcurrency: 3);

        var receipts = await dispatcher.AcceptManyAsync(
            Enumerable.Range(0, 20).Select(i => Message("user" + i, i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList(),
            CancellationToken.None);
        Assert.Equal(3, handler.Running);

        handler.Gate.SetResult();
        await Task.WhenAll(receipts.Select(r => r.Completion));

        Assert.Equal(20, handler.Seen.Count);
        Assert.Equal(3, handler.MostAtOnce);
    }

    [Fact]
    public async Task One_conversations_messages_run_one_at_a_time_in_arrival_order()
    {
        var handler = new RecordingHandler { Delay = TimeSpan.FromMilliseconds(2) };
        var dispatcher = Create(handler, maxConcurrency: 8);

        var receipts = new List<InboxReceipt>();
        for (var i = 0; i < 30; i++)
        {
            receipts.Add(await dispatcher.AcceptAsync(Message(i % 2 == 0 ? "alice" : "bob", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), CancellationToken.None));
        }
        await Task.WhenAll(receipts.Select(r => r.Completion));

        foreach (var user in new[] { "alice", "bob" })
        {
            var ids = handler.Seen.Where(s => s.Conversation == "test:" + user).Select(s => int.Parse(s.MessageId, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(ids.Order(), ids);
            Assert.Equal(15, ids.Count);
        }
        Assert.Equal(1, handler.MostAtOnceIn("test:alice"));
        Assert.Equal(1, handler.MostAtOnceIn("test:bob"));
    }

    [Fact]
    public async Task Only_messages_that_can_start_at_once_are_prepared_and_a_dropped_one_gives_back_what_it_took()
    {
        var handler = new RecordingHandler { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var dispatcher = Create(handler, maxConcurrency: 2);

        var receipts = await dispatcher.AcceptManyAsync(
            new[] { "a", "b", "c", "d" }.Select(user => Message(user, "id-" + user)).ToList(), CancellationToken.None);
        handler.Gate.SetResult();
        await Task.WhenAll(receipts.Select(r => r.Completion));

        // Two slots: the two that started at once had their reads done while being accepted; the
        // two that waited did theirs when their turn came.
        Assert.Equal(["id-a", "id-b"], handler.Prepared.Order());
        Assert.Equal(["prepared:id-a", "prepared:id-b", null, null], handler.Seen.OrderBy(s => s.MessageId).Select(s => s.Prepared));

        var redelivery = await dispatcher.AcceptAsync(Message("a", "id-a"), CancellationToken.None);
        Assert.Equal(InboxOutcome.Duplicate, redelivery.Outcome);
        Assert.Equal(["prepared:id-a"], handler.Abandoned);
    }

    [Fact]
    public async Task Handlers_that_finish_without_waiting_do_not_pile_up_on_the_accepting_thread()
    {
        var handler = new RecordingHandler();
        var dispatcher = Create(handler, maxConcurrency: 1);

        // Thousands of messages of one conversation queue behind each other; each turn is synchronous.
        var messages = Enumerable.Range(0, 5000).Select(i => Message("alice", i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList();
        var receipts = await dispatcher.AcceptManyAsync(messages, CancellationToken.None);
        await Task.WhenAll(receipts.Select(r => r.Completion));

        Assert.Equal(5000, handler.Seen.Count);
        Assert.Equal(0, dispatcher.Pending);
    }

    private Dispatcher Create(IMessageHandler handler, int maxConcurrency = 16)
    {
        var options = Options.Create(new BridgeOptions { MaxConcurrency = maxConcurrency, QueueCapacity = 10_000 });
        var dispatcher = new Dispatcher(handler, new InMemoryDeduplicationStore(options, TimeProvider.System), options, TimeProvider.System,
            new BridgeMetrics(_services.GetRequiredService<IMeterFactory>()), NullLogger<Dispatcher>.Instance);
        _dispatchers.Add(dispatcher);
        return dispatcher;
    }

    private static InboundMessage Message(string user, string id) =>
        new("test", new ConversationKey("test:" + user), id, user, user, "hello " + id, new ReplyTarget(user));

    private sealed record Observation(string MessageId, string Conversation, string? CallerState, Activity? Activity, object? Prepared);

    private sealed class RecordingHandler : IMessageHandler
    {
        private readonly ConcurrentDictionary<string, int> _runningIn = new();
        private readonly ConcurrentDictionary<string, int> _mostIn = new();
        private readonly Lock _gate = new();
        private int _running;

        public ConcurrentQueue<Observation> Seen { get; } = new();
        public ConcurrentQueue<string> Prepared { get; } = new();
        public ConcurrentQueue<object?> Abandoned { get; } = new();
        public TaskCompletionSource? Gate { get; init; }
        public TimeSpan Delay { get; init; }
        public int MostAtOnce { get; private set; }
        public int Running => Volatile.Read(ref _running);
        public int MostAtOnceIn(string conversation) => _mostIn.GetValueOrDefault(conversation);

        public object? Prepare(InboundMessage message)
        {
            Prepared.Enqueue(message.MessageId);
            return "prepared:" + message.MessageId;
        }

        public void Abandon(object? prepared) => Abandoned.Enqueue(prepared);

        public Task HandleAsync(InboundMessage message, CancellationToken cancellationToken) => HandleAsync(message, null, cancellationToken);

        public async Task HandleAsync(InboundMessage message, object? prepared, CancellationToken cancellationToken)
        {
            Seen.Enqueue(new Observation(message.MessageId, message.Conversation.Value, CallerState.Value, Activity.Current, prepared));
            lock (_gate)
            {
                _running++;
                MostAtOnce = Math.Max(MostAtOnce, _running);
                var inConversation = _runningIn.AddOrUpdate(message.Conversation.Value, 1, (_, n) => n + 1);
                _mostIn.AddOrUpdate(message.Conversation.Value, inConversation, (_, n) => Math.Max(n, inConversation));
            }
            try
            {
                if (Gate is not null)
                {
                    await Gate.Task;
                }
                if (Delay > TimeSpan.Zero)
                {
                    await Task.Delay(Delay, cancellationToken);
                }
            }
            finally
            {
                lock (_gate)
                {
                    _running--;
                    _runningIn.AddOrUpdate(message.Conversation.Value, 0, (_, n) => n - 1);
                }
            }
        }
    }
}
