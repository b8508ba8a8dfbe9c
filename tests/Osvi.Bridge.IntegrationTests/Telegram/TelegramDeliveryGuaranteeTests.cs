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

        // getMe runs in the background (the listener does not wait for it); the refusal stops the host,
        // which may happen before StartAsync has returned.
        try
        {
            await app.StartAsync();
        }
        catch (OperationCanceledException)
        {
        }
        await app.WaitForShutdownAsync().WaitAsync(Eventually.Limit);

        var error = app.Services.GetRequiredService<StartupFailure>().Problem;
        Assert.NotNull(error);
        Assert.Contains("Telegram:BotToken", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Healthz_answers_while_getMe_is_pending_and_readyz_reports_the_start_up_until_it_worked()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _telegram.GetMeGate = gate;
        var host = await BridgeHost.StartAsync(TelegramChannelTests.TelegramSettings(_osvi, _telegram, redis));
        _hosts.Add(host);

        Assert.Equal(System.Net.HttpStatusCode.OK, (await host.Http.GetAsync("/healthz")).StatusCode);
        var ready = await host.Http.GetAsync("/readyz");
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("telegram: starting", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(_telegram.CallsTo("getMe"));

        gate.SetResult();
        await Eventually.HoldsAsync(() => host.Http.GetAsync("/readyz").Result.StatusCode == System.Net.HttpStatusCode.OK, "/readyz 200 after getMe");
        _telegram.EnqueueMessage(Private(63, "after a slow start"));
        await _telegram.WaitForTextAsync(63, "echo: after a slow start");
    }

    [Fact]
    public async Task A_text_above_the_inbound_limit_is_answered_politely_and_never_reaches_the_agent()
    {
        var host = await BridgeHost.StartAsync(TelegramChannelTests.TelegramSettings(_osvi, _telegram, redis));
        _hosts.Add(host);

        _telegram.EnqueueMessage(Private(65, new string('x', 8001)));
        _telegram.EnqueueMessage(Private(65, "short"));

        await _telegram.WaitForTextAsync(65, "echo: short");
        await _telegram.WaitForTextAsync(65, "Your message is too long for me. Please keep it under 8000 characters.");
        Assert.Equal(["short"], _osvi.Messages.Select(m => m.Text));
    }

    [Fact]
    public async Task A_comma_separated_chat_allow_list_refuses_an_unlisted_chat()
    {
        var settings = TelegramChannelTests.TelegramSettings(_osvi, _telegram, redis);
        settings["Telegram:AllowedChatIds"] = "7777,8888";
        var host = await BridgeHost.StartAsync(settings);
        _hosts.Add(host);

        _telegram.EnqueueMessage(Private(64, "let me in"));
        _telegram.EnqueueMessage(Private(8888, "listed"));

        await _telegram.WaitForTextAsync(8888, "echo: listed");
        await _telegram.WaitForTextAsync(64, "Sorry, this assistant is not available here.");
        Assert.Equal(["listed"], _osvi.Messages.Select(m => m.Text));
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
