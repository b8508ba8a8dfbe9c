using Microsoft.Extensions.Options;
using Osvi.Bridge.Adapters.Console;

namespace Osvi.Bridge.Hosting;

/// <summary>
/// The command line: no command runs the worker; <c>chat</c> talks to the agent from the terminal.
/// Exit codes: 0 done, 1 failed while running, 2 configuration error, 64 usage error.
/// </summary>
public static class BridgeProgram
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitConfiguration = 2;
    public const int ExitUsage = 64;

    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var command = args.Length > 0 && !args[0].StartsWith('-') ? args[0].ToLowerInvariant() : null;
        var rest = command is null ? args : args[1..];
        try
        {
            switch (command)
            {
                case null when args.Any(a => a is "--help" or "-h" or "-?"):
                case "help":
                    await System.Console.Out.WriteLineAsync(Usage);
                    return ExitOk;
                case null:
                    return await RunWorkerAsync(rest);
                case "chat":
                    return await ChatCommand.RunAsync(rest, System.Console.In, System.Console.Out);
                case "check":
                    return await CheckCommand.RunAsync(rest, System.Console.Out);
                case "dead-letters":
                    return await DeadLettersCommand.RunAsync(rest, System.Console.Out, System.Console.Error);
                case "healthcheck":
                    return await HealthcheckCommand.RunAsync(rest, System.Console.Out);
                default:
                    await System.Console.Error.WriteLineAsync($"Unknown command '{args[0]}'.{Environment.NewLine}{Usage}");
                    return ExitUsage;
            }
        }
        catch (Exception ex) when (ConfigurationProblems(ex) is { Count: > 0 } problems)
        {
            await System.Console.Error.WriteLineAsync("Configuration error:");
            foreach (var problem in problems)
            {
                await System.Console.Error.WriteLineAsync("  " + problem);
            }
            return ExitConfiguration;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A real fault: exit 1 as documented (not the runtime's 134), with its stack trace.
            await System.Console.Error.WriteLineAsync($"Osvi.Bridge failed: {ex}");
            return ExitFailure;
        }
    }

    private static async Task<int> RunWorkerAsync(string[] args)
    {
        await using var app = BridgeApp.CreateWorker(args);
        // Resolved now: RunAsync disposes the services when it returns.
        var startupFailure = app.Services.GetRequiredService<StartupFailure>();
        var background = app.Services.GetServices<IHostedService>().OfType<BackgroundService>().ToList();
        try
        {
            await app.RunAsync();
        }
        catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException
            || ex.Message.StartsWith("Failed to bind", StringComparison.Ordinal))
        {
            await System.Console.Error.WriteLineAsync(
                $"Cannot listen: {ex.Message.TrimEnd('.')} (choose another port with ASPNETCORE_HTTP_PORTS or ASPNETCORE_URLS).");
            return ExitFailure;
        }
        catch (OperationCanceledException) when (startupFailure.Problem is not null
            || background.Any(s => s.ExecuteTask?.Exception?.InnerException is BridgeConfigurationException))
        {
            // A platform refused the configuration before the host had finished starting (a channel that
            // fails in the background stops the host while other services may still be starting).
        }
        // A platform refused the configuration during the background start-up and stopped the host.
        if (startupFailure.Problem is { } problem)
        {
            throw problem;
        }
        ThrowIfConfigurationFailed(background);
        return ExitOk;
    }

    private const string Usage = """
        Usage: Osvi.Bridge [command] [--Section:Key=value ...]

        Commands:
          (none)   run the bridge worker (Telegram and/or Slack channels, health on :8080)
          chat     chat with the configured OSVI agent from this terminal (no HTTP listener;
                   /quit, Ctrl+D or Ctrl+C leaves)
          check    validate the configuration and reach every configured dependency
                   (--create-session also starts and closes one OSVI test session)
          dead-letters list [--count N] | retry <id>|all | drop <id>|all
                   messages the durable inbox gave up on (needs Redis)
          healthcheck [url]
                   ask a running bridge's /healthz (default: where it listens, from
                   ASPNETCORE_URLS or ASPNETCORE_HTTP_PORTS, else http://127.0.0.1:8080/healthz)
          help     show this text

        Configuration comes from appsettings.json and environment variables (Osvi__ApiToken, ...).
        Exit codes: 0 ok, 1 failure, 2 configuration error, 64 usage error.
        """;

    /// <summary>
    /// A channel that learns in the background that its token is refused (e.g. Slack's auth.test)
    /// stops the host by failing; the host returns normally, so the failure is surfaced here for exit 2.
    /// </summary>
    private static void ThrowIfConfigurationFailed(IEnumerable<BackgroundService> background)
    {
        var failures = background
            .Select(s => s.ExecuteTask?.Exception?.InnerException)
            .OfType<BridgeConfigurationException>()
            .ToList();
        if (failures.Count > 0)
        {
            throw new AggregateException(failures);
        }
    }

    private static List<string> ConfigurationProblems(Exception exception)
    {
        var problems = new List<string>();
        Collect(exception);
        return problems;

        void Collect(Exception ex)
        {
            switch (ex)
            {
                case OptionsValidationException options:
                    problems.AddRange(options.Failures.Select(ConfigurationCheck.Clean));
                    break;
                case BridgeConfigurationException config:
                    problems.Add(config.Message);
                    break;
                case AggregateException aggregate:
                    foreach (var inner in aggregate.InnerExceptions)
                    {
                        Collect(inner);
                    }
                    break;
            }
        }
    }
}
