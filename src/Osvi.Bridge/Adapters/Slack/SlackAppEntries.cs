using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Hosting;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// The Slack apps a configuration names, in order: today's single keys (<c>Slack:BotToken</c>, …) when set,
/// then each <c>Slack:Apps:N</c>. The first is the default app, configured and keyed exactly as a single app
/// always was. An app of the list inherits every <c>Slack</c> key except its credentials (<c>BotToken</c>,
/// <c>AppToken</c>, <c>SigningSecret</c>) and sets its own over them; every app but the default one names
/// its <c>AppId</c>, which names it in paths, keys, metrics and logs.
/// </summary>
public static partial class SlackAppEntries
{
    public const string ListKey = "Apps";
    public const string AgentKey = "AgentUuid";
    public const string AppIdKey = "AppId";

    private static readonly string[] OwnKeys = ["BotToken", "AppToken", "SigningSecret"];

    /// <summary>The sections of the configured apps, default first; empty when Slack is off.</summary>
    public static IReadOnlyList<IConfigurationSection> Sections(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var slack = configuration.GetSection(SlackOptions.Section);
        var sections = new List<IConfigurationSection>();
        if (!string.IsNullOrWhiteSpace(slack["BotToken"]))
        {
            sections.Add(slack);
        }
        sections.AddRange(slack.GetSection(ListKey).GetChildren().Where(c => c.GetChildren().Any()));
        return sections;
    }

    /// <summary>The agent the app names (<c>Slack:Apps:N:AgentUuid</c>); null for today's single keys and an app naming none.</summary>
    public static string? AgentOf(IConfigurationSection entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return IsListed(entry) && !string.IsNullOrWhiteSpace(entry[AgentKey]) ? entry[AgentKey]!.Trim() : null;
    }

    /// <summary>Binds one app's options: today's section as it always was, or an app of the list over the inherited <c>Slack</c> keys.</summary>
    internal static SlackOptions Bind(IConfigurationSection slack, IConfigurationSection entry)
    {
        ArgumentNullException.ThrowIfNull(slack);
        ArgumentNullException.ThrowIfNull(entry);
        var options = slack.Get<SlackOptions>() ?? new SlackOptions();
        if (!IsListed(entry))
        {
            return options;
        }
        options.BotToken = "";
        options.AppToken = "";
        options.SigningSecret = "";
        entry.Bind(options);
        options.ConfigPath = entry.Path;
        options.AppId = entry[AppIdKey]?.Trim() ?? "";
        options.AgentUuid = AgentOf(entry);
        return options;
    }

    /// <summary>Every problem of the apps of the list, each by its full key, and apps configured twice.</summary>
    public static void FindProblems(IConfiguration configuration, ICollection<string> problems)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(problems);
        var slack = configuration.GetSection(SlackOptions.Section);
        var entries = Sections(configuration);
        var appIds = new Dictionary<string, string>(StringComparer.Ordinal);
        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (!IsListed(entry))
            {
                tokens[entry["BotToken"] ?? ""] = entry.Path + ":BotToken";
                continue;
            }
            SlackOptions options;
            try
            {
                options = Bind(slack, entry);
            }
            catch (InvalidOperationException ex)
            {
                problems.Add(ConfigurationCheck.Clean(ex.Message));
                continue;
            }
            if (!options.IsEnabled)
            {
                problems.Add($"{entry.Path}:BotToken is required: the app's bot token (xoxb-…)");
                continue;
            }
            var result = new SlackOptionsValidator().Validate(Options.DefaultName, options);
            if (result.Failed)
            {
                foreach (var failure in result.Failures.Select(ConfigurationCheck.Clean))
                {
                    problems.Add(Requalify(failure, entry));
                }
            }
            if (options.AppId.Length == 0)
            {
                // The default app needs none: it keeps today's paths and keys.
                if (i > 0)
                {
                    problems.Add($"{entry.Path}:{AppIdKey} is required beside another Slack app: the app's ID (A…, on its Basic Information page); " +
                        "it names the app in POST /slack/events/{AppId}, its conversation keys, metrics and logs");
                }
            }
            else if (!AppIdPattern().IsMatch(options.AppId))
            {
                problems.Add($"{entry.Path}:{AppIdKey} must be a Slack app ID such as A0123456789 (capital letters and digits)");
            }
            else if (appIds.TryGetValue(options.AppId, out var first))
            {
                problems.Add($"{entry.Path}:{AppIdKey} {options.AppId} is already configured at {first}: list each app once");
            }
            else
            {
                appIds[options.AppId] = entry.Path + ":" + AppIdKey;
            }
            if (tokens.TryGetValue(options.BotToken, out var same))
            {
                problems.Add($"{entry.Path}:BotToken is the bot token of {same} again: list each app once");
            }
            else
            {
                tokens[options.BotToken] = entry.Path + ":BotToken";
            }
        }
    }

    private static string Requalify(string problem, IConfigurationSection entry)
    {
        if (OwnedKey().Match(problem) is not { Success: true } match)
        {
            return problem;
        }
        var key = match.Groups["key"].Value;
        return OwnKeys.Contains(key, StringComparer.OrdinalIgnoreCase) || entry.GetSection(key).Exists()
            ? entry.Path + ":" + problem[(SlackOptions.Section.Length + 1)..]
            : problem;
    }

    private static bool IsListed(IConfigurationSection entry) =>
        !string.Equals(entry.Path, SlackOptions.Section, StringComparison.OrdinalIgnoreCase);

    [GeneratedRegex("^Slack:(?<key>[A-Za-z]+)\\b")]
    private static partial Regex OwnedKey();

    [GeneratedRegex("^[A-Z0-9]{2,32}$")]
    private static partial Regex AppIdPattern();
}
