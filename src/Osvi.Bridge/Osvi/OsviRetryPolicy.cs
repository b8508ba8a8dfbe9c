using System.Net.Http;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Osvi.Bridge.Osvi;

/// <summary>
/// Which failed OSVI attempts the resilience handler may repeat. Reads (GET) and calls marked
/// <see cref="RetrySafe"/> (closing a session) are retried on every transient failure. Every other
/// POST (start a session, send a message) makes the agent do work, so it is repeated only when OSVI
/// has finished with the attempt or never saw it: a connection that failed before the request went out,
/// or an answer of 408, 429, 500, 502 or 503. It is not repeated after an attempt timeout, a 504 or a
/// connection lost after sending: OSVI may still be working on it, and every copy would be answered.
/// </summary>
public static class OsviRetryPolicy
{
    /// <summary>Set on a request whose repetition does no harm.</summary>
    public static readonly HttpRequestOptionsKey<bool> RetrySafe = new("Osvi.RetrySafe");

    public static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, HttpRequestMessage? request)
    {
        if (!HttpClientResiliencePredicates.IsTransient(outcome))
        {
            return false;
        }
        if (request is null || request.Method == HttpMethod.Get || request.Method == HttpMethod.Head
            || (request.Options.TryGetValue(RetrySafe, out var safe) && safe))
        {
            return true;
        }
        return outcome.Result is { } response
            ? (int)response.StatusCode is 500 or 502 || NotProcessed((int)response.StatusCode)
            : outcome.Exception is { } exception && FailedBeforeSending(exception);
    }

    /// <summary>Statuses that say the server did not act on the request: repeating it cannot double it.</summary>
    public static bool NotProcessed(int status) => status is 408 or 429 or 503;

    /// <summary>True when the request surely never left: the connection could not even be set up.</summary>
    public static bool FailedBeforeSending(Exception exception) =>
        exception is HttpRequestException
        {
            HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError
                or HttpRequestError.SecureConnectionError or HttpRequestError.ProxyTunnelError,
        };
}
