using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Hosting;

/// <summary>
/// One stage's rehearsal of its hot path with canned data: nothing reaches a user, no session is
/// created and nothing is counted in metrics; at most the read-only call the start-up check makes.
/// </summary>
public interface IHotPathRehearsal
{
    /// <summary>Names the stage in the start-up log line.</summary>
    string Name { get; }

    Task RunAsync(CancellationToken cancellationToken);
}

/// <summary>Whether the start-up rehearsal has run; <c>/readyz</c> waits for it.</summary>
public sealed class HotPathWarmUpState
{
    private volatile bool _done;

    public bool Done => _done;

    internal void MarkDone() => _done = true;
}

/// <summary>
/// Runs every <see cref="IHotPathRehearsal"/> once at start, in the background, before <c>/readyz</c>
/// turns 200. The first message after a deploy otherwise paid for the one-time work of the libraries
/// on its path: Telegram.Bot builds its reflection-based JSON metadata for the whole Update graph on
/// the first getUpdates, Markdig its pipeline on the first answer (bench scenario f: 0.5–1 s added
/// to that message, against ~3 ms for the next ones).
/// </summary>
public sealed partial class HotPathWarmUp(IEnumerable<IHotPathRehearsal> rehearsals, HotPathWarmUpState state, TimeProvider time,
    ILogger<HotPathWarmUp> logger) : BackgroundService
{
    /// <summary>
    /// How long one rehearsal may take: OSVI's read-only call goes through the conversations' retrying
    /// client, and an OSVI that is down at start must not keep <c>/readyz</c> waiting once it is back.
    /// </summary>
    public static readonly TimeSpan RehearsalLimit = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var timings = new List<string>();
        var started = Stopwatch.GetTimestamp();
        foreach (var rehearsal in rehearsals)
        {
            var stage = Stopwatch.GetTimestamp();
            using var limit = new CancellationTokenSource(RehearsalLimit, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, limit.Token);
            try
            {
                await rehearsal.RunAsync(linked.Token);
                timings.Add($"{rehearsal.Name} {Stopwatch.GetElapsedTime(stage).TotalMilliseconds:0} ms");
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // A rehearsal only saves time: a failed one must never keep the bridge from serving.
                LogRehearsalFailed(logger, rehearsal.Name, ex);
            }
        }
        // In a scope, as the message path's lines are: the console formatter's first line with a scope cost
        // the first message ~2 ms (bench scenario f), and the rehearsals log nothing.
        using (logger.BeginScope(new LogFields("Phase", "start-up")))
        {
            LogWarmedUp(logger, Stopwatch.GetElapsedTime(started).TotalMilliseconds, string.Join(", ", timings));
        }
        state.MarkDone();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Hot path warmed up in {ElapsedMs:0} ms ({Stages})")]
    private static partial void LogWarmedUp(ILogger logger, double elapsedMs, string stages);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Start-up rehearsal of {Stage} failed; its first message will be slower")]
    private static partial void LogRehearsalFailed(ILogger logger, string stage, Exception exception);
}

/// <summary><c>/readyz</c>: the start-up rehearsal of the hot path has run.</summary>
public sealed class HotPathWarmUpReadinessCheck(HotPathWarmUpState state) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(state.Done ? HealthCheckResult.Healthy("hot path warmed up") : HealthCheckResult.Unhealthy("warming up the hot path"));
}
