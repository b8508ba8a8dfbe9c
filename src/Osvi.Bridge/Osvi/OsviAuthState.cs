using Microsoft.Extensions.Logging;

namespace Osvi.Bridge.Osvi;

/// <summary>
/// Remembers whether OSVI last refused our token, and whether the worker's start-up has verified it yet,
/// so <c>/readyz</c> can report both and the log says it once per burst of refusals (and once when it
/// works again) instead of once per message.
/// </summary>
public sealed partial class OsviAuthState(ILogger<OsviAuthState> logger)
{
    private int _rejected;
    private string? _unverified;

    public bool IsRejected => Volatile.Read(ref _rejected) == 1;

    /// <summary>Why the start-up has not verified token and agent yet; null once it has (or where nothing verifies them).</summary>
    public string? Unverified => Volatile.Read(ref _unverified);

    public void ReportUnverified(string reason) => Volatile.Write(ref _unverified, reason);

    public void ReportVerified() => Volatile.Write(ref _unverified, null);

    public void ReportAccepted()
    {
        if (Interlocked.Exchange(ref _rejected, 0) == 1)
        {
            LogAcceptedAgain(logger);
        }
    }

    public void ReportRejected(int statusCode)
    {
        if (Interlocked.Exchange(ref _rejected, 1) == 0)
        {
            LogRejected(logger, statusCode);
        }
    }

    [LoggerMessage(Level = LogLevel.Critical,
        Message = "OSVI refused the API token or agent (HTTP {StatusCode}). Every message will fail until Osvi:ApiToken / Osvi:AgentUuid are fixed; /readyz reports unhealthy.")]
    private static partial void LogRejected(ILogger logger, int statusCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "OSVI accepts the API token again; /readyz reports ready")]
    private static partial void LogAcceptedAgain(ILogger logger);
}
