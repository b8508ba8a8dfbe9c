using System.Text.RegularExpressions;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Osvi.Bridge.Telemetry;

/// <summary>
/// Metrics (Prometheus at <c>/metrics</c>, OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set) and
/// traces (OTLP only) with OpenTelemetry.
/// </summary>
public static partial class TelemetryServiceCollectionExtensions
{
    public static IServiceCollection AddBridgeTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("osvi-bridge"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(BridgeMetrics.Name)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentationIfPresent()
                    .AddPrometheusExporter();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        if (otlp)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(BridgeMetrics.Name)
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx => !IsProbe(ctx.Request.Path))
                .AddHttpClientInstrumentation(o => o.EnrichWithHttpRequestMessage = (activity, request) =>
                {
                    // Telegram puts the bot token in the URL path: never export it.
                    if (request.RequestUri is { } uri && BotTokenInPath().IsMatch(uri.AbsolutePath))
                    {
                        activity.SetTag("url.full", BotTokenInPath().Replace(uri.GetLeftPart(UriPartial.Path), "/bot[redacted]/"));
                        activity.SetTag("url.path", BotTokenInPath().Replace(uri.AbsolutePath, "/bot[redacted]/"));
                    }
                })
                .AddOtlpExporter());
        }
        return services;
    }

    private static MeterProviderBuilder AddRuntimeInstrumentationIfPresent(this MeterProviderBuilder metrics) =>
        // .NET 9+ publishes runtime metrics on this meter by itself.
        metrics.AddMeter("System.Runtime");

    private static bool IsProbe(PathString path) =>
        path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/metrics");

    [GeneratedRegex(@"/bot[^/]+/")]
    private static partial Regex BotTokenInPath();
}
