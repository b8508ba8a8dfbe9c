namespace Osvi.Bridge.Hosting;

/// <summary>
/// Lets a platform's start-up, which runs in the background so that the listener and <c>/healthz</c>
/// come up at once, still end the process with exit code 2 when the platform refuses the
/// configuration (a token it does not know, a webhook URL it will not use): the first such problem is
/// kept, the host is stopped, and the program reports it like any other configuration error.
/// </summary>
public sealed partial class StartupFailure(IHostApplicationLifetime lifetime, ILogger<StartupFailure> logger)
{
    private BridgeConfigurationException? _problem;

    /// <summary>The configuration problem that stopped the host, if one did.</summary>
    public BridgeConfigurationException? Problem => Volatile.Read(ref _problem);

    public void Report(BridgeConfigurationException problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (Interlocked.CompareExchange(ref _problem, problem, null) is null)
        {
            LogStopping(logger, problem.Message);
            lifetime.StopApplication();
        }
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Configuration refused at start-up, stopping: {Problem}")]
    private static partial void LogStopping(ILogger logger, string problem);
}
