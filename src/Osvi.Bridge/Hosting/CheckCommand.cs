using Microsoft.Extensions.Options;
using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.Adapters.Telegram;
using Osvi.Bridge.Osvi;

namespace Osvi.Bridge.Hosting;

/// <summary>
/// <c>Osvi.Bridge check [--create-session]</c>: validates the configuration and reaches every
/// configured dependency, one line each; exits 0 when all pass, 1 when any fails, 2 on bad config.
/// Secrets are shown by their last four characters at most.
/// </summary>
public static class CheckCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var createSession = args.Contains("--create-session", StringComparer.OrdinalIgnoreCase);
        var builder = BridgeApp.CreateBuilder(args.Where(a => !a.Equals("--create-session", StringComparison.OrdinalIgnoreCase)).ToArray());
        builder.Logging.ClearProviders();
        var problems = ConfigurationCheck.FindProblems(builder.Configuration, requireChannel: false);
        if (problems.Count > 0)
        {
            throw ConfigurationCheck.ToException(problems);
        }
        builder.Services.AddBridgeCore(builder.Configuration);
        builder.Services.AddTelegramChannel(builder.Configuration);
        builder.Services.AddSlackChannel(builder.Configuration);
        builder.Services.AddSingleton(new CheckCommandOptions(createSession));
        builder.Services.AddSingleton<IDependencyCheck, RedisDependencyCheck>();
        builder.Services.AddSingleton<IDependencyCheck, OsviDependencyCheck>();
        foreach (var (agent, key) in OtherAgents(builder.Configuration))
        {
            builder.Services.AddSingleton<IDependencyCheck>(sp =>
                new OsviAgentDependencyCheck(sp.GetRequiredService<OsviAccessProbe>(), sp.GetRequiredService<IOptions<OsviOptions>>(), agent, key));
        }

        // The services are built but never started: no channel connects, no hosted service runs.
        await using var services = builder.Services.BuildServiceProvider();
        BridgeApp.ValidateConfiguration(services, requireChannel: false);

        var osvi = services.GetRequiredService<IOptions<OsviOptions>>().Value;
        await output.WriteLineAsync($"[ OK ] configuration: valid; OSVI {osvi.BaseUrl} (chat API {osvi.ApiVersion}), token {Mask(osvi.ApiToken)}, agent {osvi.AgentUuid}");
        // One name per bot and app: "telegram" for the default bot, "telegram:{botId}" and "slack:{appId}" for the others.
        var channels = services.GetServices<Messaging.IReplySender>()
            .Select(s => s.Instance.Length == 0 ? s.Platform : s.Platform + ":" + s.Instance).ToList();
        await output.WriteLineAsync(channels.Count > 0
            ? $"[ OK ] channels: {string.Join(", ", channels)}"
            : "[FAIL] channels: none configured (set Telegram__BotToken and/or Slack__BotToken); the worker will not start");
        var failures = channels.Count > 0 ? 0 : 1;

        foreach (var check in services.GetServices<IDependencyCheck>())
        {
            DependencyCheckResult result;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                result = await check.RunAsync(timeout.Token);
            }
            catch (Exception ex)
            {
                result = DependencyCheckResult.Fail($"{ex.GetType().Name}: {ex.Message}");
            }
            if (!result.Ok)
            {
                failures++;
            }
            await output.WriteLineAsync($"{(result.Ok ? "[ OK ]" : "[FAIL]")} {check.Name}: {result.Detail}");
        }

        await output.WriteLineAsync(failures == 0 ? "All checks passed." : $"{failures} check(s) failed.");
        return failures == 0 ? BridgeProgram.ExitOk : BridgeProgram.ExitFailure;
    }

    /// <summary>Shows at most the last four characters of a secret, and nothing of a short one.</summary>
    /// <summary>Each agent a bot or app names besides the default one, once, with the first key that names it.</summary>
    private static IEnumerable<(string Agent, string Key)> OtherAgents(IConfiguration configuration)
    {
        var defaultAgent = ChannelAgents.DefaultAgent(configuration, configuration["Osvi:AgentUuid"] ?? "");
        var named = TelegramBotEntries.Sections(configuration).Select(s => (Agent: TelegramBotEntries.AgentOf(s), s.Path))
            .Concat(SlackAppEntries.Sections(configuration).Select(s => (Agent: SlackAppEntries.AgentOf(s), s.Path)));
        return named.Where(n => n.Agent is not null && !string.Equals(n.Agent, defaultAgent, StringComparison.Ordinal))
            .DistinctBy(n => n.Agent, StringComparer.Ordinal)
            .Select(n => (n.Agent!, n.Path + ":" + TelegramBotEntries.AgentKey));
    }

    public static string Mask(string? secret) =>
        string.IsNullOrEmpty(secret) ? "(not set)"
        : secret.Length < 12 ? "(set)"
        : "…" + secret[^4..];
}
