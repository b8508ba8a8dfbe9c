using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Osvi;

/// <summary>
/// Registers the OSVI clients with validated options and one resilience pipeline, and the agent port
/// (<see cref="IAgentConversation"/>) of the flavour <c>Osvi:ApiVersion</c> names.
/// </summary>
public static class OsviServiceCollectionExtensions
{
    public static IServiceCollection AddOsviClient(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(OsviOptions.Section);
        services.AddOptions<OsviOptions>()
            .Configure(options =>
            {
                try
                {
                    section.Bind(options);
                }
                catch (InvalidOperationException ex)
                {
                    // "Failed to convert configuration value 'V2' at 'Osvi:ApiVersion' to type …": names the key.
                    options.BindingError = ex.Message;
                }
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<OsviOptions>, OsviBindingValidator>();
        services.AddSingleton<IValidateOptions<OsviOptions>, OsviOptionsValidator>();
        services.AddSingleton<IValidateOptions<OsviOptions>, OsviOptionsConsistency>();
        services.AddSingleton<OsviAuthState>();
        services.AddHttpClient(OsviAccessProbe.HttpClientName);
        services.AddSingleton<OsviAccessProbe>();
        services.AddSingleton<IHotPathRehearsal, OsviHotPathRehearsal>();

        AddResilience(services.AddHttpClient<OsviClient>(ConfigureHttp));
        AddResilience(services.AddHttpClient<V1AgentConversation>(ConfigureHttp));
        services.AddSingleton<LegacyAgentConversation>();
        services.AddSingleton<IAgentConversation>(sp =>
            sp.GetRequiredService<IOptions<OsviOptions>>().Value.ApiVersion == OsviApiVersion.V1
                ? sp.GetRequiredService<V1AgentConversation>()
                : sp.GetRequiredService<LegacyAgentConversation>());
        return services;
    }

    private static void ConfigureHttp(IServiceProvider services, HttpClient http)
    {
        var options = services.GetRequiredService<IOptions<OsviOptions>>().Value;
        http.BaseAddress = new Uri(options.BaseUrl.TrimEnd('/') + "/");
        // The resilience pipeline owns every timeout; HttpClient's own would cut retries short.
        http.Timeout = Timeout.InfiniteTimeSpan;
    }

    private static void AddResilience(IHttpClientBuilder client) =>
        client.AddResilienceHandler("osvi", (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<OsviOptions>>().Value;
            var metrics = context.ServiceProvider.GetRequiredService<BridgeMetrics>();
            pipeline.AddTimeout(options.TotalTimeout);
            if (options.MaxRetries > 0)
            {
                // Transient failures (408, 429, 5xx, connection failures, attempt timeouts), narrowed per
                // call by OsviRetryPolicy so that no message is handed to the agent twice at once; Retry-After is honoured.
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = options.MaxRetries,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = options.RetryDelay,
                    MaxDelay = TimeSpan.FromSeconds(30),
                    ShouldHandle = args => ValueTask.FromResult(OsviRetryPolicy.ShouldRetry(args.Outcome, args.Context.GetRequestMessage())),
                    OnRetry = _ =>
                    {
                        metrics.Retry("osvi");
                        return ValueTask.CompletedTask;
                    },
                });
            }
            pipeline.AddTimeout(options.RequestTimeout);
        });
}
