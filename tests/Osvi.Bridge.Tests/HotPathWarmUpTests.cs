using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.Adapters.Telegram;
using Osvi.Bridge.Hosting;

namespace Osvi.Bridge.Tests;

public sealed class HotPathWarmUpTests
{
    [Fact]
    public async Task Telegram_rehearsal_runs_the_bot_client_parser_and_renderer_on_canned_answers()
    {
        var rehearsal = new TelegramHotPathRehearsal(new TelegramUpdateParser(new TelegramOptions { BotToken = "1:x" }));

        // Throws if Telegram.Bot no longer reads the canned getUpdates answer as one text message.
        await rehearsal.RunAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Slack_rehearsal_runs_the_parser_and_renderer() =>
        await new SlackHotPathRehearsal().RunAsync(CancellationToken.None);

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
