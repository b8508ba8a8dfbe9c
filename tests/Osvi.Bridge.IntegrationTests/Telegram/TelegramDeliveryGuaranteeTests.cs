using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using Osvi.Bridge.Messaging;
using static Osvi.Bridge.IntegrationTests.Telegram.FakeTelegramServer;

namespace Osvi.Bridge.IntegrationTests.Telegram;

/// <summary>Start-up errors, confirmation of updates and allow-lists, against the fake Bot API.</summary>
public sealed class TelegramDeliveryGuaranteeTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private readonly List<BridgeHost> _hosts = [];
    private FakeOsviServer _osvi = null!;
    private FakeTelegramServer _telegram = null!;

    public async Task InitializeAsync()
    {
        _osvi = await FakeOsviServer.StartAsync();
        _osvi.WelcomeMessage = null;
        _telegram = await FakeTelegramServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }
        await _telegram.DisposeAsync();
        await _osvi.DisposeAsync();
    }

    [Fact]
    public async Task A_token_telegram_refuses_stops_the_start_with_an_error_naming_the_key()
    {
        _telegram.RejectToken = true;
        var settings = TelegramChannelTests.TelegramSettings(_osvi, _telegram, redis);
        await using var app = BridgeApp.CreateWorker([], b => b.Configuration.AddInMemoryCollection(settings));

        var thrown = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync());

        var error = Assert.IsType<BridgeConfigurationException>(thrown is AggregateException a ? a.Flatten().InnerExceptions.Single() : thrown);
        Assert.Contains("Telegram:BotToken", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_update_is_confirmed_only_after_the_inbox_accepted_it()
    {
        var inbox = new ClosingInbox(acceptBeforeClosing: 1);
        var settings = TelegramChannelTests.TelegramSettings(_osvi, _telegram, redis);
        await using var app = BridgeApp.CreateWorker([], b =>
        {
            b.Configuration.AddInMemoryCollection(settings);
            b.Host.UseServiceProviderFactory(new InboxReplacingFactory(inbox));
        });
        await app.StartAsync();

        var accepted = _telegram.EnqueueMessage(Private(60, "taken"));
        await Eventually.HoldsAsync(() => !inbox.Accepted.IsEmpty, "the first update accepted");
        var refused = _telegram.EnqueueMessage(Private(60, "not taken: shutting down"));
        await inbox.Closed.Task.WaitAsync(TimeSpan.FromSeconds(15));
        await app.StopAsync();

        var offsets = _telegram.CallsTo("getUpdates").Select(c => c.Body["offset"]?.GetValue<int>()).Where(o => o is not null).ToList();
        Assert.Contains(accepted + 1, offsets);
        Assert.DoesNotContain(offsets, o => o > refused);
        Assert.Equal(["taken"], inbox.Accepted.Select(m => m.Text));
        Assert.Equal(accepted.ToString(System.Globalization.CultureInfo.InvariantCulture), inbox.Accepted.Single().MessageId);
    }

    [Fact]
    public async Task Chats_outside_the_allow_list_get_one_polite_refusal_and_never_reach_the_agent()
    {
        var settings = TelegramChannelTests.TelegramSettings(_osvi, _telegram, redis);
        settings["Telegram:AllowedUserIds:0"] = "62";
        var host = await BridgeHost.StartAsync(settings);
        _hosts.Add(host);

        _telegram.EnqueueMessage(Private(61, "let me in"));
        _telegram.EnqueueMessage(Private(61, "please"));
        _telegram.EnqueueMessage(Private(62, "I am allowed"));

        await _telegram.WaitForTextAsync(62, "echo: I am allowed");
        await _telegram.WaitForSentAsync(s => s.Any(m => ChatOf(m) == 61), "the refusal");
        Assert.Equal(["Sorry, this assistant is not available here."], _telegram.TextsTo(61));
        Assert.Equal(["I am allowed"], _osvi.Messages.Select(m => m.Text));
    }

    /// <summary>Swaps the inbox after every registration is in, which a services callback cannot (it runs first).</summary>
    private sealed class InboxReplacingFactory(IInbox inbox) : IServiceProviderFactory<IServiceCollection>
    {
        public IServiceCollection CreateBuilder(IServiceCollection services) => services.AddSingleton(inbox);

        public IServiceProvider CreateServiceProvider(IServiceCollection containerBuilder) => containerBuilder.BuildServiceProvider();
    }

    /// <summary>An inbox that takes a few messages and then behaves as if the bridge were shutting down.</summary>
    private sealed class ClosingInbox(int acceptBeforeClosing) : IInbox
    {
        public ConcurrentQueue<InboundMessage> Accepted { get; } = new();

        public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask<InboxReceipt> AcceptAsync(InboundMessage message, CancellationToken cancellationToken) =>
            (await AcceptManyAsync([message], cancellationToken))[0];

        // All or nothing, as the real inbox promises its callers.
        public ValueTask<IReadOnlyList<InboxReceipt>> AcceptManyAsync(IReadOnlyList<InboundMessage> messages, CancellationToken cancellationToken)
        {
            if (Accepted.Count + messages.Count > acceptBeforeClosing)
            {
                Closed.TrySetResult();
                throw new InboxClosedException();
            }
            foreach (var message in messages)
            {
                Accepted.Enqueue(message);
            }
            return ValueTask.FromResult<IReadOnlyList<InboxReceipt>>(
                messages.Select(_ => new InboxReceipt(InboxOutcome.Accepted)).ToList());
        }
    }
}
