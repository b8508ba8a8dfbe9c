using System.Text.RegularExpressions;
using Osvi.Bridge.Hosting;

namespace Osvi.Bridge.Adapters.Telegram;

/// <summary>
/// The bots a configuration names, in order: today's single keys (<c>Telegram:BotToken</c>, …) when set,
/// then each <c>Telegram:Bots:N</c>. The first is the default bot, configured and keyed exactly as a
/// single bot always was. A bot of the list inherits every <c>Telegram</c> key except <c>BotToken</c>,
/// <c>WebhookUrl</c> and <c>WebhookSecret</c> and sets its own over them, <c>AgentUuid</c> included.
/// </summary>
public static partial class TelegramBotEntries
{
    public const string ListKey = "Bots";
    public const string AgentKey = "AgentUuid";

    /// <summary>Keys a bot of the list never inherits: they name that one bot.</summary>
    private static readonly string[] OwnKeys = ["BotToken", "WebhookUrl", "WebhookSecret"];

    /// <summary>The sections of the configured bots, default first; empty when Telegram is off.</summary>
    public static IReadOnlyList<IConfigurationSection> Sections(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var telegram = configuration.GetSection(TelegramOptions.Section);
        var sections = new List<IConfigurationSection>();
        if (!string.IsNullOrWhiteSpace(telegram["BotToken"]))
        {
            sections.Add(telegram);
        }
        sections.AddRange(telegram.GetSection(ListKey).GetChildren().Where(c => c.GetChildren().Any()));
        return sections;
    }

    /// <summary>The agent the bot names (<c>Telegram:Bots:N:AgentUuid</c>); null for today's single keys and a bot naming none.</summary>
    public static string? AgentOf(IConfigurationSection entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return IsListed(entry) && !string.IsNullOrWhiteSpace(entry[AgentKey]) ? entry[AgentKey]!.Trim() : null;
    }

    /// <summary>The bot id a token starts with (<c>123456789:AAE…</c>), or the whole value when it has none.</summary>
    public static string BotIdOf(string token) =>
        token is not null && token.IndexOf(':', StringComparison.Ordinal) is > 0 and var colon ? token[..colon] : token ?? "";

    /// <summary>
    /// Binds one bot's options: today's section as it always was, or a bot of the list over the inherited
    /// <c>Telegram</c> keys. Problems of the bot's own keys go to <paramref name="problems"/>.
    /// </summary>
    internal static void Bind(TelegramOptions options, IConfigurationSection telegram, IConfigurationSection entry, ICollection<string> problems)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(telegram);
        ArgumentNullException.ThrowIfNull(entry);
        if (!IsListed(entry))
        {
            try
            {
                telegram.Bind(options);
            }
            catch (InvalidOperationException ex)
            {
                // "Failed to convert configuration value 'Webhok' at 'Telegram:Mode' to type …": names the key.
                problems.Add(ex.Message);
            }
            options.ReadAllowLists(telegram, problems);
            return;
        }

        // The inherited keys' own problems are reported for Telegram itself, once.
        try
        {
            telegram.Bind(options);
        }
        catch (InvalidOperationException)
        {
        }
        options.ReadAllowLists(telegram, []);
        var chats = options.AllowedChatIds.ToList();
        var users = options.AllowedUserIds.ToList();
        options.BotToken = "";
        options.WebhookUrl = "";
        options.WebhookSecret = "";
        try
        {
            entry.Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            problems.Add(ex.Message);
        }
        options.ReadAllowListsOver(entry, chats, users, problems);
        options.ConfigPath = entry.Path;
        options.AgentUuid = AgentOf(entry);
    }

    /// <summary>
    /// Every problem of the bots of the list, each by its full key (<c>Telegram:Bots:1:WebhookSecret is required…</c>),
    /// and bots configured twice. Today's single keys are checked as the <c>Telegram</c> section.
    /// </summary>
    public static void FindProblems(IConfiguration configuration, ICollection<string> problems)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(problems);
        var telegram = configuration.GetSection(TelegramOptions.Section);
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in Sections(configuration))
        {
            if (!IsListed(entry))
            {
                seen[BotIdOf(entry["BotToken"] ?? "")] = entry.Path + ":BotToken";
                continue;
            }
            var options = new TelegramOptions();
            var found = new List<string>();
            Bind(options, telegram, entry, found);
            var result = new TelegramOptionsValidator().Validate(Microsoft.Extensions.Options.Options.DefaultName, options);
            if (result.Failed)
            {
                found.AddRange(result.Failures);
            }
            foreach (var problem in found.Select(ConfigurationCheck.Clean))
            {
                problems.Add(Requalify(problem, entry));
            }
            if (!string.IsNullOrWhiteSpace(options.BotToken))
            {
                var botId = BotIdOf(options.BotToken);
                if (seen.TryGetValue(botId, out var first))
                {
                    problems.Add($"{entry.Path}:BotToken is bot {botId} again, already configured at {first}: list each bot once");
                }
                else
                {
                    seen[botId] = entry.Path + ":BotToken";
                }
            }
        }
    }

    /// <summary>"Telegram:WebhookUrl is required" about a bot of the list names the bot's key when it is the bot's own.</summary>
    private static string Requalify(string problem, IConfigurationSection entry)
    {
        if (OwnedKey().Match(problem) is not { Success: true } match)
        {
            return problem;
        }
        var key = match.Groups["key"].Value;
        return OwnKeys.Contains(key, StringComparer.OrdinalIgnoreCase) || entry.GetSection(key).Exists()
            ? entry.Path + ":" + problem[(TelegramOptions.Section.Length + 1)..]
            : problem;
    }

    private static bool IsListed(IConfigurationSection entry) =>
        !string.Equals(entry.Path, TelegramOptions.Section, StringComparison.OrdinalIgnoreCase);

    [GeneratedRegex("^Telegram:(?<key>[A-Za-z]+)\\b")]
    private static partial Regex OwnedKey();
}
