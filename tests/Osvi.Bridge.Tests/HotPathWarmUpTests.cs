using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.Adapters.Telegram;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Sessions;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Tests;

[Collection(nameof(HotPathWarmUpTests))]
public sealed class HotPathWarmUpTests
{
    [Theory]
    [InlineData("Legacy")]
    [InlineData("V1")]
    public async Task Telegram_rehearsal_answers_its_messages_through_a_private_copy_of_the_whole_path(string apiVersion)
    {
        await using var app = Worker(new() { ["Osvi:ApiVersion"] = apiVersion });
        using var rehearsalMetrics = new MeterCounts(RehearsalMeter);
        using var bridgeMetrics = new MeterCounts(app.Services.GetRequiredService<BridgeMetrics>().Meter);

        // Throws unless each rehearsed message came back answered (and Telegram.Bot read the canned answers).
        await RehearsalNamed(app, "telegram").RunAsync(CancellationToken.None);

        // Two chats started a session each, the third message found the first one's; the answers went out
        // through the real reply sender, while the bridge's own metrics and session store saw nothing.
        Assert.Equal(3, rehearsalMetrics.Sum("osvi_bridge.messages.answered"));
        Assert.Equal(2, rehearsalMetrics.Sum("osvi_bridge.sessions.created"));
        Assert.Equal(0, bridgeMetrics.Sum("osvi_bridge.messages.received") + bridgeMetrics.Sum("osvi_bridge.messages.answered"));
        var sessions = app.Services.GetRequiredService<ISessionStore>();
        Assert.Null(await sessions.GetAsync(new ConversationKey("telegram:1:1"), CancellationToken.None));
    }

    [Fact]
    public async Task Telegram_rehearsal_writes_from_a_chat_the_allow_lists_let_in()
    {
        await using var app = Worker(new() { ["Telegram:AllowedChatIds:0"] = "-1001234", ["Telegram:AllowedUserIds:0"] = "77" });
        using var rehearsalMetrics = new MeterCounts(RehearsalMeter);

        await RehearsalNamed(app, "telegram").RunAsync(CancellationToken.None);

        Assert.Equal(3, rehearsalMetrics.Sum("osvi_bridge.messages.answered"));
    }

    [Fact]
    public async Task Telegram_rehearsal_answers_from_memory_for_a_bot_with_an_agent_of_its_own_too()
    {
        // OSVI at Osvi:BaseUrl is unreachable: a rehearsal that asked it would fail its messages.
        await using var app = Worker(new()
        {
            ["Telegram:BotToken"] = null,
            ["Telegram:Bots:0:BotToken"] = "1:x",
            ["Telegram:Bots:0:AgentUuid"] = "agent-of-the-bot",
            ["Telegram:Bots:1:BotToken"] = "2:y",
        });
        using var rehearsalMetrics = new MeterCounts(RehearsalMeter);

        await RehearsalNamed(app, "telegram").RunAsync(CancellationToken.None);

        Assert.Equal(3, rehearsalMetrics.Sum("osvi_bridge.messages.answered"));
    }

    private static WebApplication Worker(Dictionary<string, string?> settings) => BridgeApp.CreateWorker([], builder =>
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Osvi:ApiToken"] = "token",
            ["Osvi:AgentUuid"] = "agent",
            ["Osvi:BaseUrl"] = "http://127.0.0.1:9",
            ["Telegram:BotToken"] = "1:x",
            ["Telegram:ApiBaseUrl"] = "http://127.0.0.1:9",
            ["Logging:LogLevel:Default"] = "Warning",
        }.Where(s => !settings.ContainsKey(s.Key)).Concat(settings.Where(s => s.Value is not null))));

    private static IHotPathRehearsal RehearsalNamed(WebApplication app, string name) =>
        app.Services.GetServices<IHotPathRehearsal>().Single(r => r.Name == name);

    private const string RehearsalMeter = "Osvi.Bridge.Rehearsal";

    /// <summary>
    /// Sums what the counters of <c>meter</c> (an instance, or every meter of a name: the rehearsal's own,
    /// made inside it; this class runs alone, so no other test's rehearsal is counted) count while it lives.
    /// </summary>
    private sealed class MeterCounts : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _sums = new();

        public MeterCounts(Meter meter)
            : this(m => ReferenceEquals(m, meter))
        {
        }

        public MeterCounts(string meterName)
            : this(m => m.Name == meterName)
        {
        }

        private MeterCounts(Func<Meter, bool> counted)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (counted(instrument.Meter))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => _sums.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value));
            _listener.Start();
        }

        public long Sum(string instrument) => _sums.GetValueOrDefault(instrument);

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public async Task Slack_rehearsal_answers_its_DMs_through_a_private_copy_of_the_whole_path()
    {
        await using var app = Worker(new()
        {
            ["Telegram:BotToken"] = null,
            ["Slack:BotToken"] = "xoxb-1",
            ["Slack:SigningSecret"] = "secret",
            ["Slack:ApiBaseUrl"] = "http://127.0.0.1:9",
        });
        using var rehearsalMetrics = new MeterCounts(RehearsalMeter);
        using var bridgeMetrics = new MeterCounts(app.Services.GetRequiredService<BridgeMetrics>().Meter);

        await RehearsalNamed(app, "slack").RunAsync(CancellationToken.None);

        Assert.Equal(3, rehearsalMetrics.Sum("osvi_bridge.messages.answered"));
        Assert.Equal(2, rehearsalMetrics.Sum("osvi_bridge.sessions.created"));
        Assert.Equal(0, bridgeMetrics.Sum("osvi_bridge.messages.received") + bridgeMetrics.Sum("osvi_bridge.messages.answered"));
    }

    [Fact]
    public async Task Readiness_waits_for_the_rehearsals_and_a_failing_one_does_not_hold_it_back()
    {
        var state = new HotPathWarmUpState();
        var check = new HotPathWarmUpReadinessCheck(state);
        var gate = new TaskCompletionSource();
        var ran = new List<string>();
        var warmUp = new HotPathWarmUp(
            [new Rehearsal("failing", _ => throw new InvalidOperationException("boom")), new Rehearsal("gated", _ => gate.Task, ran)],
            state, TimeProvider.System, NullLogger<HotPathWarmUp>.Instance);

        await warmUp.StartAsync(CancellationToken.None);
        Assert.Equal(HealthStatus.Unhealthy, (await check.CheckHealthAsync(new HealthCheckContext(), CancellationToken.None)).Status);

        gate.SetResult();
        await warmUp.ExecuteTask!;
        Assert.Equal(["gated"], ran);
        Assert.Equal(HealthStatus.Healthy, (await check.CheckHealthAsync(new HealthCheckContext(), CancellationToken.None)).Status);
        await warmUp.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_rehearsal_that_hangs_is_given_up_after_its_limit_and_readiness_follows()
    {
        var time = new FakeTimeProvider();
        var state = new HotPathWarmUpState();
        var ran = new List<string>();
        var started = new TaskCompletionSource();
        var warmUp = new HotPathWarmUp(
            [new Rehearsal("hanging", token => { started.TrySetResult(); return Task.Delay(Timeout.Infinite, token); }), new Rehearsal("next", _ => Task.CompletedTask, ran)],
            state, time, NullLogger<HotPathWarmUp>.Instance);

        await warmUp.StartAsync(CancellationToken.None);
        await started.Task;
        Assert.False(state.Done);

        time.Advance(HotPathWarmUp.RehearsalLimit);
        await warmUp.ExecuteTask!;
        Assert.True(state.Done);
        Assert.Equal(["next"], ran);
        await warmUp.StopAsync(CancellationToken.None);
    }

    private sealed class Rehearsal(string name, Func<CancellationToken, Task> run, List<string>? ran = null) : IHotPathRehearsal
    {
        public string Name => name;

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            await run(cancellationToken);
            ran?.Add(name);
        }
    }
}

/// <summary>The warm-up tests count what the rehearsal's meter records, so they run apart from every other test.</summary>
[CollectionDefinition(nameof(HotPathWarmUpTests), DisableParallelization = true)]
public sealed class HotPathWarmUpCollection;
