using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.Adapters.Telegram;
using Osvi.Bridge.Handoff;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Telemetry;
using OpenTelemetry.Exporter;

namespace Osvi.Bridge.Hosting;

/// <summary>Builds the worker: one ASP.NET Core process serving health, metrics and webhooks beside the channels.</summary>
public static class BridgeApp
{
    public const int DefaultPort = 8080;

    /// <param name="args">Command-line arguments (configuration overrides such as <c>--Osvi:AgentUuid=…</c>).</param>
    /// <param name="configure">Runs before any service reads configuration; tests add their settings here.</param>
    public static WebApplication CreateWorker(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = CreateBuilder(args);
        configure?.Invoke(builder);
        // Before anything binds a section: a value the binder cannot convert would throw there.
        var problems = ConfigurationCheck.FindProblems(builder.Configuration,
            requireChannel: !builder.Services.Any(d => d.ServiceType == typeof(IReplySender)));
        if (problems.Count > 0)
        {
            throw ConfigurationCheck.ToException(problems);
        }
        ConfigureLogging(builder.Logging, builder.Environment);

        if (!HasListenerConfigured(builder.Configuration))
        {
            builder.WebHost.UseUrls($"http://+:{DefaultPort}");
        }

        var bridge = builder.Configuration.GetSection(BridgeOptions.Section).Get<BridgeOptions>() ?? new BridgeOptions();
        // The host must outwait the dispatcher's own drain.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = bridge.ShutdownTimeout + TimeSpan.FromSeconds(10));

        builder.Services.AddBridgeCore(builder.Configuration);
        // The worker only: check and chat verify the token in the foreground, and have no /readyz.
        builder.Services.AddHostedService<Osvi.OsviAccessMonitor>();
        builder.Services.AddSingleton<HotPathWarmUpState>();
        builder.Services.AddHostedService<HotPathWarmUp>();
        builder.Services.AddTelegramChannel(builder.Configuration);
        builder.Services.AddSlackChannel(builder.Configuration);
        builder.Services.AddHandoff(builder.Configuration);
        builder.Services.AddBridgeTelemetry(builder.Configuration);
        builder.Services.AddHealthChecks()
            .AddCheck<RedisReadinessCheck>("redis", tags: ["ready"])
            .AddCheck<OsviReadinessCheck>("osvi", tags: ["ready"])
            .AddCheck<ChannelsReadinessCheck>("channels", tags: ["ready"])
            .AddCheck<HotPathWarmUpReadinessCheck>("warm-up", tags: ["ready"]);

        var app = builder.Build();
        ValidateConfiguration(app.Services, requireChannel: true);

        // Plain RequestDelegates throughout: minimal-API parameter binding compiles expression trees
        // (System.Linq.Expressions and its generated code stay resident: bench/README.md, memory).
        app.MapGet("/healthz", static context =>
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            return context.Response.WriteAsync("ok", context.RequestAborted);
        });
        app.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains("ready"),
            ResponseWriter = WriteHealthAsync,
        });
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapTelegramEndpoints();
        app.MapSlackEndpoints();
        return app;
    }

    /// <summary>
    /// Reports every configuration problem at once (all option sections, and whether any channel is
    /// on), instead of the first one the host would trip over while starting.
    /// </summary>
    public static void ValidateConfiguration(IServiceProvider services, bool requireChannel)
    {
        ArgumentNullException.ThrowIfNull(services);
        var problems = new List<string>();
        try
        {
            services.GetService<Microsoft.Extensions.Options.IStartupValidator>()?.Validate();
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            problems.AddRange(ex.Failures.Select(ConfigurationCheck.Clean));
        }
        catch (AggregateException ex)
        {
            problems.AddRange(ex.Flatten().InnerExceptions.SelectMany(e => e is Microsoft.Extensions.Options.OptionsValidationException o
                ? o.Failures.Select(ConfigurationCheck.Clean) : [ConfigurationCheck.Clean(e.Message)]));
        }
        catch (InvalidOperationException ex)
        {
            // A section ConfigurationCheck does not know yet, with a value the binder cannot convert.
            problems.Add(ConfigurationCheck.Clean(ex.Message));
        }
        if (requireChannel && !services.GetServices<IReplySender>().Any())
        {
            problems.Add(ConfigurationCheck.NoChannel);
        }
        if (problems.Count > 0)
        {
            throw ConfigurationCheck.ToException(problems.Distinct(StringComparer.Ordinal));
        }
    }

    /// <summary>
    /// The top-level appsettings.json is read when started from the repository root; otherwise the
    /// copy shipped beside the binary gives the defaults. Environment variables override both.
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(string[] args) =>
        WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = ContentRoot() });

    /// <summary>The directory whose appsettings.json gives the defaults (see <see cref="CreateBuilder"/>).</summary>
    public static string ContentRoot()
    {
        var cwd = Directory.GetCurrentDirectory();
        return File.Exists(Path.Combine(cwd, "appsettings.json")) ? cwd : AppContext.BaseDirectory;
    }

    public static void ConfigureLogging(ILoggingBuilder logging, IHostEnvironment environment)
    {
        logging.ClearProviders();
        if (environment.IsDevelopment())
        {
            logging.AddSimpleConsole(o =>
            {
                o.IncludeScopes = true;
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            });
        }
        else
        {
            logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }
        // HttpClient's own logs print request URLs, and Telegram puts the bot token in its URLs.
        logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
    }

    private static bool HasListenerConfigured(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration["urls"])
        || !string.IsNullOrEmpty(configuration["http_ports"])
        || !string.IsNullOrEmpty(configuration["https_ports"])
        || configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), detail = e.Value.Description }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }
}
