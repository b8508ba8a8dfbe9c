using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Osvi;

/// <summary>Registers the OSVI client with validated options and one resilience pipeline.</summary>
public static class OsviServiceCollectionExtensions
{
    public static IServiceCollection AddOsviClient(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<OsviOptions>()
            .Bind(configuration.GetSection(OsviOptions.Section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<OsviOptions>, OsviOptionsValidator>();
        services.AddSingleton<IValidateOptions<OsviOptions>, OsviOptionsConsistency>();
        services.AddSingleton<OsviAuthState>();

        services.AddHttpClient<OsviClient>((sp, http) =>
            {
                var options = sp.GetRequiredService<IOptions<OsviOptions>>().Value;
                http.BaseAddress = new Uri(options.BaseUrl.TrimEnd('/') + "/");
                // The resilience pipeline owns every timeout; HttpClient's own would cut retries short.
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            .AddResilienceHandler("osvi", (pipeline, context) =>
            {
                var options = context.ServiceProvider.GetRequiredService<IOptions<OsviOptions>>().Value;
                var metrics = context.ServiceProvider.GetRequiredService<BridgeMetrics>();
                pipeline.AddTimeout(options.TotalTimeout);
                if (options.MaxRetries > 0)
                {
                    // Default predicate: 408, 429, 5xx, HttpRequestException and attempt timeouts; Retry-After is honoured.
                    pipeline.AddRetry(new HttpRetryStrategyOptions
                    {
                        MaxRetryAttempts = options.MaxRetries,
                        BackoffType = DelayBackoffType.Exponential,
                        UseJitter = true,
                        Delay = options.RetryDelay,
                        MaxDelay = TimeSpan.FromSeconds(30),
                        OnRetry = _ =>
                        {
                            metrics.Retry("osvi");
                            return ValueTask.CompletedTask;
                        },
                    });
                }
                pipeline.AddTimeout(options.RequestTimeout);
            });
        return services;
    }
}
