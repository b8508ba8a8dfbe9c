using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Telemetry;
using Polly;
using Polly.Timeout;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// The Slack Web API client's resilience pipeline, of the same family as OSVI's
/// (<c>Microsoft.Extensions.Http.Resilience</c>): bounded exponential retries with jitter, HTTP 429
/// waited out for its <c>Retry-After</c> (unless it asks longer than <see cref="SlackOptions.MaxRetryAfter"/>),
/// and a timeout per attempt. Reads and edits are retried after any transient failure; a
/// non-idempotent call (<c>chat.postMessage</c>, marked with <see cref="NonIdempotent"/>) only when
/// Slack surely did not act on it (429, 503, no connection), never after a timeout or a dropped
/// response, which would post the message twice.
/// </summary>
public static partial class SlackResilience
{
    public const string PipelineName = "slack";

    /// <summary>Set on a request that must not be sent twice when Slack may have acted on it.</summary>
    public static readonly HttpRequestOptionsKey<bool> NonIdempotent = new("osvi-bridge.slack.non-idempotent");

    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        Configure(pipeline, services, services.GetRequiredService<IOptions<SlackOptions>>().Value);
    }

    /// <summary>The pipeline of one app's client (an app of <c>Slack:Apps</c> has its own options).</summary>
    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, IServiceProvider services, SlackOptions options)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        var metrics = services.GetRequiredService<BridgeMetrics>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SlackApiClient).FullName!);
        var time = services.GetRequiredService<TimeProvider>();
        if (options.MaxRetries > 0)
        {
            pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryDelay,
                MaxDelay = TimeSpan.FromSeconds(30),
                ShouldRetryAfterHeader = true,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context, options, time)),
                OnRetry = args =>
                {
                    var method = args.Context.GetRequestMessage()?.RequestUri?.AbsolutePath.Split('/')[^1] ?? "-";
                    if (args.Outcome.Result?.StatusCode == HttpStatusCode.TooManyRequests)
                    {
                        metrics.RateLimitWait(SlackEventParser.Platform, options.Instance);
                        LogRateLimited(logger, method, args.RetryDelay.TotalSeconds, args.AttemptNumber + 1);
                    }
                    else
                    {
                        metrics.Retry(SlackEventParser.Platform);
                        var error = args.Outcome.Result is { } r ? $"http_{(int)r.StatusCode}" : args.Outcome.Exception?.GetType().Name ?? "-";
                        LogTransient(logger, method, error, args.RetryDelay.TotalMilliseconds, args.AttemptNumber + 1);
                    }
                    return ValueTask.CompletedTask;
                },
            });
        }
        pipeline.AddTimeout(options.RequestTimeout);
    }

    private static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, ResilienceContext context, SlackOptions options, TimeProvider time)
    {
        var nonIdempotent = context.GetRequestMessage()?.Options.TryGetValue(NonIdempotent, out var flag) == true && flag;
        if (outcome.Result is { } response)
        {
            var status = (int)response.StatusCode;
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                // Slack did nothing; wait as asked, unless that is longer than the caller should hang.
                return RetryAfter(response, time) <= options.MaxRetryAfter;
            }
            if (nonIdempotent)
            {
                return response.StatusCode == HttpStatusCode.ServiceUnavailable;
            }
            return status >= 500 || response.StatusCode == HttpStatusCode.RequestTimeout;
        }
        return outcome.Exception switch
        {
            // The connection was never made: nothing reached Slack.
            HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError } => true,
            HttpRequestException or TimeoutRejectedException => !nonIdempotent,
            _ => false,
        };
    }

    /// <summary>Slack's <c>Retry-After</c> (seconds, or a date); one second when it sent none.</summary>
    public static TimeSpan RetryAfter(HttpResponseMessage response, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(time);
        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }
        if (retryAfter?.Date is { } date)
        {
            var wait = date - time.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }
        return TimeSpan.FromSeconds(1);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack rate-limited {Method}; waiting {RetryAfterSeconds:0.#} s before attempt {Attempt}")]
    private static partial void LogRateLimited(ILogger logger, string method, double retryAfterSeconds, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack call {Method} failed ({Error}); retrying in {DelayMs:0} ms (attempt {Attempt})")]
    private static partial void LogTransient(ILogger logger, string method, string error, double delayMs, int attempt);
}
