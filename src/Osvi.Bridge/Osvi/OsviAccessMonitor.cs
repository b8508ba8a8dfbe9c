using Microsoft.Extensions.Options;
using Osvi.Bridge.Hosting;

namespace Osvi.Bridge.Osvi;

/// <summary>
/// The worker's watch on OSVI access, with the read-only <see cref="OsviAccessProbe"/> (no session).
/// At start, in the background so that the listener is not held up: a token OSVI refuses, or (Chat v1)
/// an agent it names as wrong, stops the process with exit code 2 naming the key; an unreachable OSVI
/// is asked again with capped back-off while <c>/readyz</c> says so. Afterwards, while OSVI refuses the
/// token (a message saw 401/403), it probes every <c>Osvi:AuthProbeInterval</c> and clears the refusal
/// once the token works, so <c>/readyz</c> recovers without waiting for a user's message.
/// </summary>
public sealed partial class OsviAccessMonitor(
    OsviAccessProbe probe,
    OsviAuthState auth,
    StartupFailure startupFailure,
    IHostApplicationLifetime lifetime,
    IOptions<OsviOptions> options,
    TimeProvider time,
    ILogger<OsviAccessMonitor> logger) : BackgroundService
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Set before the listener answers: /readyz must not say ready before the token was tried.
        auth.ReportUnverified("checking");
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // After the host started (the listener is bound): a refusal stops a started host, which ends
        // with exit code 2, instead of cancelling its start half-way.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetResult()))
        {
            await started.Task;
        }
        if (stoppingToken.IsCancellationRequested || !await VerifyAsync(stoppingToken))
        {
            return;
        }
        using var timer = new PeriodicTimer(options.Value.AuthProbeInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (!auth.IsRejected)
                {
                    continue;
                }
                var result = await probe.ProbeAsync(stoppingToken);
                if (result.Verdict == OsviAccessVerdict.Accepted)
                {
                    auth.ReportAccepted();
                }
                else
                {
                    LogStillRefused(logger, result.Detail);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>True once OSVI accepted token and agent; false when stopping or after reporting a refusal.</summary>
    private async Task<bool> VerifyAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.Zero;
        var cap = options.Value.AuthProbeInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            OsviAccessResult result;
            try
            {
                result = await probe.ProbeAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return false;
            }
            switch (result.Verdict)
            {
                case OsviAccessVerdict.Accepted:
                    auth.ReportVerified();
                    LogVerified(logger, result.Detail);
                    return true;
                case OsviAccessVerdict.TokenRefused:
                    // A refused token does not get better by asking again: stop with exit code 2.
                    auth.ReportUnverified(result.Detail);
                    startupFailure.Report(new BridgeConfigurationException(
                        $"OSVI refuses Osvi:ApiToken (Osvi__ApiToken): HTTP {result.StatusCode}. Check the token (and that Osvi:AgentUuid belongs to its account)."));
                    return false;
                case OsviAccessVerdict.AgentUnknown:
                    auth.ReportUnverified(result.Detail);
                    startupFailure.Report(new BridgeConfigurationException(
                        $"OSVI refuses Osvi:AgentUuid (Osvi__AgentUuid) '{options.Value.AgentUuid}': {result.Detail}"));
                    return false;
                default:
                    delay = delay < FirstRetryDelay ? FirstRetryDelay : delay * 2;
                    if (delay > cap)
                    {
                        delay = cap;
                    }
                    auth.ReportUnverified(result.Detail);
                    LogVerifyFailed(logger, result.Detail, delay);
                    await Task.Delay(delay, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    break;
            }
        }
        return false;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "OSVI: {Detail}")]
    private static partial void LogVerified(ILogger logger, string detail);

    // One line per retry, no stack trace: OSVI being away is expected, /readyz reports it.
    [LoggerMessage(Level = LogLevel.Warning, Message = "OSVI start-up check failed ({Reason}); retrying in {Delay}")]
    private static partial void LogVerifyFailed(ILogger logger, string reason, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Debug, Message = "OSVI still refuses the token: {Reason}")]
    private static partial void LogStillRefused(ILogger logger, string reason);
}
