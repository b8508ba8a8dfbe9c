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

public sealed class InMemoryInboxTests : IAsyncLifetime
{
    private static readonly AsyncLocal<string?> CallerState = new();
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly List<InMemoryInbox> _dispatchers = [];
    private readonly HandledMessages _handled = new();

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

        await AcceptAndWaitAsync(dispatcher, [Message("alice", "1")]);

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
        var first = Accept(dispatcher, Message("alice", "1"));
        CallerState.Value = "second caller";
        var second = Accept(dispatcher, Message("bob", "2"));
        CallerState.Value = null;

        handler.Gate.SetResult();
        await Task.WhenAll(await first, await second);

        Assert.Equal(["1", "2"], handler.Seen.Select(s => s.MessageId));
        Assert.All(handler.Seen, s => Assert.Null(s.CallerState));
    }

    [Fact]
    public async Task No_more_messages_run_at_once_than_there_are_slots_and_every_one_runs()
    {
        var handler = new RecordingHandler { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var dispatcher = Create(handler, maxConcurrency: 3);

        var messages = Enumerable.Range(0, 20).Select(i => Message("user" + i, i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList();
        var handled = messages.Select(_handled.Watch).ToList();
        await dispatcher.AcceptManyAsync(messages, CancellationToken.None);
        Assert.Equal(3, handler.Running);

        handler.Gate.SetResult();
        await Task.WhenAll(handled);

        Assert.Equal(20, handler.Seen.Count);
        Assert.Equal(3, handler.MostAtOnce);
    }

    [Fact]
    public async Task One_conversations_messages_run_one_at_a_time_in_arrival_order()
    {
        var handler = new RecordingHandler { Delay = TimeSpan.FromMilliseconds(2) };
        var dispatcher = Create(handler, maxConcurrency: 8);

        var handled = new List<Task<DeliveryResult>>();
        for (var i = 0; i < 30; i++)
        {
            handled.Add(await Accept(dispatcher, Message(i % 2 == 0 ? "alice" : "bob", i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        }
        await Task.WhenAll(handled);

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
    public async Task A_message_that_fails_for_now_is_tried_again_before_the_next_one_of_its_conversation()
    {
        var handler = new RecordingHandler { FailFirstAttempts = 2, FailOnly = "1" };
        var dispatcher = Create(handler, maxConcurrency: 4);

        await AcceptAndWaitAsync(dispatcher, [Message("alice", "1"), Message("alice", "2")]);

        // Three attempts at "1" (two retries), then "2": the retries kept the conversation's turn.
        Assert.Equal(["1", "1", "1", "2"], handler.Seen.Select(s => s.MessageId));
        Assert.Equal([1, 2, 3, 1], handler.Seen.Select(s => s.Attempt));
    }

    [Fact]
    public async Task A_message_that_keeps_failing_is_given_up_after_its_attempts_and_the_conversation_goes_on()
    {
        var handler = new RecordingHandler { FailFirstAttempts = int.MaxValue, FailOnly = "1" };
        var dispatcher = Create(handler, maxConcurrency: 4, maxAttempts: 3);

        var results = await AcceptAndWaitAsync(dispatcher, [Message("alice", "1"), Message("alice", "2")]);

        Assert.Equal([DeliveryResult.DeadLettered, DeliveryResult.Finished], results);
        Assert.Equal(["1", "1", "1", "2"], handler.Seen.Select(s => s.MessageId));
        Assert.True(handler.Seen.Last(s => s.MessageId == "1").LastAttempt);
    }

    [Fact]
    public async Task A_redelivered_event_is_dropped_on_arrival()
    {
        var handler = new RecordingHandler();
        var dispatcher = Create(handler);
        await AcceptAndWaitAsync(dispatcher, [Message("a", "id-a")]);

        var redelivery = await dispatcher.AcceptAsync(Message("a", "id-a"), CancellationToken.None);

        Assert.Equal(InboxOutcome.Duplicate, redelivery.Outcome);
        Assert.Single(handler.Seen);
    }

    [Fact]
    public async Task Handlers_that_finish_without_waiting_do_not_pile_up_on_the_accepting_thread()
    {
        var handler = new RecordingHandler();
        var dispatcher = Create(handler, maxConcurrency: 1);

        // Thousands of messages of one conversation queue behind each other; each turn is synchronous.
        var messages = Enumerable.Range(0, 5000).Select(i => Message("alice", i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList();
        await AcceptAndWaitAsync(dispatcher, messages);

        Assert.Equal(5000, handler.Seen.Count);
        Assert.Equal(0, dispatcher.Pending);
    }

    private InMemoryInbox Create(IMessageHandler handler, int maxConcurrency = 16, int maxAttempts = 5)
    {
        // These pin how single messages are dispatched; merged follow-ups are MergedFollowUpTests' and FollowUpsTests'.
        var options = Options.Create(new BridgeOptions { MaxConcurrency = maxConcurrency, QueueCapacity = 10_000, MergeQueuedMessages = false });
        var inbox = Options.Create(new InboxOptions { MaxAttempts = maxAttempts, RetryDelay = TimeSpan.Zero });
        var metrics = new BridgeMetrics(_services.GetRequiredService<IMeterFactory>());
        var runner = new DeliveryRunner(handler, inbox, _handled, TimeProvider.System, metrics, NullLogger<DeliveryRunner>.Instance);
        var dispatcher = new InMemoryInbox(runner, new InMemoryDeduplicationStore(options, TimeProvider.System), _handled, options,
            metrics, NullLogger<InMemoryInbox>.Instance);
        _dispatchers.Add(dispatcher);
        return dispatcher;
    }

    /// <summary>Accepts one message; the task it returns tells when it was handled.</summary>
    private async Task<Task<DeliveryResult>> Accept(InMemoryInbox inbox, InboundMessage message)
    {
        var handled = _handled.Watch(message);
        await inbox.AcceptAsync(message, CancellationToken.None);
        return handled;
    }

    private async Task<DeliveryResult[]> AcceptAndWaitAsync(InMemoryInbox inbox, IReadOnlyList<InboundMessage> messages)
    {
        var handled = messages.Select(_handled.Watch).ToList();
        await inbox.AcceptManyAsync(messages, CancellationToken.None);
        return await Task.WhenAll(handled);
    }

    private static InboundMessage Message(string user, string id) =>
        new("test", new ConversationKey("test:" + user), id, user, user, "hello " + id, new ReplyTarget(user));

    private sealed record Observation(string MessageId, string Conversation, string? CallerState, Activity? Activity, int Attempt, bool LastAttempt);

    private sealed class RecordingHandler : IMessageHandler
    {
        private readonly ConcurrentDictionary<string, int> _runningIn = new();
        private readonly ConcurrentDictionary<string, int> _mostIn = new();
        private readonly Lock _gate = new();
        private int _running;

        public ConcurrentQueue<Observation> Seen { get; } = new();
        public int FailFirstAttempts { get; init; }
        public string? FailOnly { get; init; }
        public TaskCompletionSource? Gate { get; init; }
        public TimeSpan Delay { get; init; }
        public int MostAtOnce { get; private set; }
        public int Running => Volatile.Read(ref _running);
        public int MostAtOnceIn(string conversation) => _mostIn.GetValueOrDefault(conversation);

        public async Task<HandlingOutcome> HandleAsync(Delivery delivery, CancellationToken cancellationToken)
        {
            var message = delivery.Message;
            Seen.Enqueue(new Observation(message.MessageId, message.Conversation.Value, CallerState.Value, Activity.Current, delivery.Attempt, delivery.IsLastAttempt));
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
            return delivery.Attempt <= FailFirstAttempts && (FailOnly is null || FailOnly == message.MessageId)
                ? HandlingOutcome.RetryLater("failing on purpose")
                : HandlingOutcome.Done;
        }
    }
}
