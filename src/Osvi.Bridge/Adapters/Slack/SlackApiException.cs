namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// Slack answered a Web API call with <c>ok:false</c> (or kept failing at the HTTP level);
/// <see cref="Error"/> is Slack's error code, e.g. <c>not_in_channel</c>.
/// </summary>
public sealed class SlackApiException : Exception
{
    // Retrying these cannot help: the token, the channel or the workspace must change first.
    private static readonly HashSet<string> PermanentErrors = new(StringComparer.Ordinal)
    {
        "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
        "not_in_channel", "channel_not_found", "is_archived", "missing_scope", "no_permission",
        "user_not_found", "restricted_action", "team_access_not_granted",
    };

    private static readonly HashSet<string> AuthenticationErrors = new(StringComparer.Ordinal)
    {
        "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
    };

    public SlackApiException() : this("unknown", "unknown", "Slack refused the call.") { }

    public SlackApiException(string message) : this("unknown", "unknown", message) { }

    public SlackApiException(string message, Exception innerException) : base(message, innerException)
    {
        Method = "unknown";
        Error = "unknown";
    }

    public SlackApiException(string method, string error, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Method = method;
        Error = error;
    }

    /// <summary>The Web API method, e.g. <c>chat.postMessage</c>.</summary>
    public string Method { get; }

    /// <summary>Slack's error code, or <c>http_{status}</c> / <c>unreachable</c> for transport failures.</summary>
    public string Error { get; }

    /// <summary>The token is not (or no longer) accepted.</summary>
    public bool IsAuthenticationError => AuthenticationErrors.Contains(Error);

    /// <summary>
    /// Slack was slow, down or busy (timeout, no connection, 5xx, rate limit, its own internal errors):
    /// the same call may well work later. Never a refusal of the request itself.
    /// </summary>
    public bool IsTransient => Error is "timeout" or "unreachable" or "ratelimited" or "internal_error" or "fatal_error"
        or "service_unavailable" or "request_timeout" || Error.StartsWith("http_5", StringComparison.Ordinal) || Error == "http_408";

    /// <summary>Known to fail again until someone changes the setup (token, channel membership, …).</summary>
    public bool IsPermanent => PermanentErrors.Contains(Error);
}
