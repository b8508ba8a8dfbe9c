using Microsoft.Extensions.Logging;

namespace Osvi.Bridge.Osvi;

/// <summary>
/// Remembers whether OSVI last refused our token, so <c>/readyz</c> can report it and the log
/// shouts once per burst of refusals instead of once per message.
/// </summary>
public sealed partial class OsviAuthState(ILogger<OsviAuthState> logger)
{
    private int _rejected;

    public bool IsRejected => Volatile.Read(ref _rejected) == 1;

    public void ReportAccepted() => Interlocked.Exchange(ref _rejected, 0);

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
}
