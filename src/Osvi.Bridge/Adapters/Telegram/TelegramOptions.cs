using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Osvi.Bridge.Adapters.Telegram;

/// <summary>The <c>Telegram</c> configuration section; the channel is on when <see cref="BotToken"/> is set.</summary>
public sealed partial class TelegramOptions : IValidatableObject
{
    public const string Section = "Telegram";

    [Required(ErrorMessage = "Telegram:BotToken is required")]
    [RegularExpression(@"^\d{1,16}:[A-Za-z0-9_-]+$", ErrorMessage = "Telegram:BotToken must look like 123456789:AAE… (as issued by @BotFather)")]
    public string BotToken { get; set; } = "";

    [Required(ErrorMessage = "Telegram:ApiBaseUrl is required")]
    [Url(ErrorMessage = "Telegram:ApiBaseUrl must be an absolute http(s) URL")]
    public string ApiBaseUrl { get; set; } = "https://api.telegram.org";

    public TelegramMode Mode { get; set; } = TelegramMode.Polling;

    /// <summary>The public HTTPS address Telegram posts updates to (ending in <c>/telegram/webhook</c>).</summary>
    public string WebhookUrl { get; set; } = "";

    /// <summary>Echoed by Telegram in <c>X-Telegram-Bot-Api-Secret-Token</c>; requests without it are refused.</summary>
    public string WebhookSecret { get; set; } = "";

    /// <summary>The long-poll wait of one <c>getUpdates</c> call; HttpClient waits longer than this.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:00:50", ErrorMessage = "Telegram:PollingTimeout must be between 00:00:01 and 00:00:50")]
    public TimeSpan PollingTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The first delay after a failed poll; it doubles up to <see cref="PollingMaxRetryDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00", ErrorMessage = "Telegram:PollingRetryDelay must be between 00:00:00 and 00:05:00")]
    public TimeSpan PollingRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Telegram:PollingMaxRetryDelay must be between 00:00:00 and 00:10:00")]
    public TimeSpan PollingMaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The first delay after a 409 Conflict (webhook set, or another poller); doubles up to the max delay.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00", ErrorMessage = "Telegram:ConflictRetryDelay must be between 00:00:00 and 00:05:00")]
    public TimeSpan ConflictRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary><c>Chat</c>: one conversation per group; <c>User</c>: one per member of a group.</summary>
    public TelegramGroupSessionScope GroupSessionScope { get; set; } = TelegramGroupSessionScope.Chat;

    /// <summary>
    /// Chats the bot serves; empty = every chat. Read as a list (<c>Telegram__AllowedChatIds__0=…</c>)
    /// or as one comma-separated value (<c>Telegram__AllowedChatIds=7777,-1008888</c>).
    /// </summary>
    public IList<long> AllowedChatIds { get; } = [];

    /// <summary>Users the bot serves; empty = every user. Same forms as <see cref="AllowedChatIds"/>.</summary>
    public IList<long> AllowedUserIds { get; } = [];

    [Required(AllowEmptyStrings = false, ErrorMessage = "Telegram:NonTextNotice is required")]
    public string NonTextNotice { get; set; } = "I can only read text messages for now.";

    [Required(AllowEmptyStrings = false, ErrorMessage = "Telegram:NotAllowedNotice is required")]
    public string NotAllowedNotice { get; set; } = "Sorry, this assistant is not available here.";

    /// <summary>Messages per second in one private chat.</summary>
    [Range(1, 100, ErrorMessage = "Telegram:PerChatRate must be between 1 and 100")]
    public int PerChatRate { get; set; } = 1;

    /// <summary>Messages per minute in one group.</summary>
    [Range(1, 6000, ErrorMessage = "Telegram:GroupPerMinute must be between 1 and 6000")]
    public int GroupPerMinute { get; set; } = 20;

    /// <summary>Messages per second across all chats.</summary>
    [Range(1, 10000, ErrorMessage = "Telegram:GlobalPerSecond must be between 1 and 10000")]
    public int GlobalPerSecond { get; set; } = 30;

    /// <summary>The split size; below Telegram's 4096 to leave a margin.</summary>
    [Range(100, 4096, ErrorMessage = "Telegram:MaxMessageLength must be between 100 and 4096")]
    public int MaxMessageLength { get; set; } = 4000;

    /// <summary>How often <c>typing</c> is re-sent while the agent works (Telegram shows it for about 5 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:05", ErrorMessage = "Telegram:TypingInterval must be between 00:00:00.010 and 00:00:05")]
    public TimeSpan TypingInterval { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>How long the agent may take before <c>typing</c> is shown at all; a quicker answer needs none.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:05", ErrorMessage = "Telegram:TypingDelay must be between 00:00:00 and 00:00:05")]
    public TimeSpan TypingDelay { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// How a private chat sees the agent working: <c>Draft</c> shows a "Thinking…" draft (<c>sendMessageDraft</c>)
    /// that the answer replaces; <c>Typing</c> the <c>typing</c> action. Groups, and a draft Telegram refuses, use typing.
    /// </summary>
    public TelegramThinkingStyle ThinkingStyle { get; set; } = TelegramThinkingStyle.Draft;

    /// <summary>How often the draft is sent again; Telegram drops a draft after about 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:29", ErrorMessage = "Telegram:DraftRefreshInterval must be between 00:00:00.010 and 00:00:29")]
    public TimeSpan DraftRefreshInterval { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>The draft offers a Stop button; pressed, the turn's answer is not sent (OSVI still finishes the turn).</summary>
    public bool StopButton { get; set; } = true;

    /// <summary>
    /// How long a <c>getUpdates</c> may run past <see cref="PollingTimeout"/> before the watchdog abandons it
    /// and polls again: a half-open connection otherwise waits for the HTTP timeout, or for ever.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00", ErrorMessage = "Telegram:PollWatchdogGrace must be between 00:00:01 and 00:05:00")]
    public TimeSpan PollWatchdogGrace { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Sets the command menu (<c>setMyCommands</c>: /start, /reset, /help) at start, for private chats and groups.</summary>
    public bool CommandMenu { get; set; } = true;

    [Required(AllowEmptyStrings = false, ErrorMessage = "Telegram:StartCommandDescription is required")]
    [StringLength(256, MinimumLength = 1, ErrorMessage = "Telegram:StartCommandDescription must be 1-256 characters")]
    public string StartCommandDescription { get; set; } = "Start talking to the assistant";

    [Required(AllowEmptyStrings = false, ErrorMessage = "Telegram:ResetCommandDescription is required")]
    [StringLength(256, MinimumLength = 1, ErrorMessage = "Telegram:ResetCommandDescription must be 1-256 characters")]
    public string ResetCommandDescription { get; set; } = "Start a new conversation";

    [Required(AllowEmptyStrings = false, ErrorMessage = "Telegram:HelpCommandDescription is required")]
    [StringLength(256, MinimumLength = 1, ErrorMessage = "Telegram:HelpCommandDescription must be 1-256 characters")]
    public string HelpCommandDescription { get; set; } = "How to use this assistant";

    /// <summary>
    /// An answer with a Markdown table goes out with <c>sendRichMessage</c> (Bot API 10.1, renders the table);
    /// where Telegram refuses it, and with this off, the table is sent as a monospaced block.
    /// </summary>
    public bool RichTables { get; set; } = true;

    /// <summary>The delay before re-sending after a transient failure (not 429, which says how long to wait).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ErrorMessage = "Telegram:SendRetryDelay must be between 00:00:00 and 00:01:00")]
    public TimeSpan SendRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Why binding failed (a value of the wrong type, an allow-list entry that is no id); reported by validation.</summary>
    internal List<string> BindingErrors { get; } = [];

    // Which configured bot these options are (TelegramBotEntries); not configuration keys themselves.

    /// <summary>Where the bot's keys live: <c>Telegram</c>, or <c>Telegram:Bots:N</c> for a bot of the list.</summary>
    internal string ConfigPath { get; set; } = Section;

    /// <summary>Empty for the default (first) bot, else its bot id: <see cref="Messaging.InboundMessage.Instance"/>.</summary>
    internal string Instance { get; set; } = "";

    /// <summary>The agent that answers this bot's chats (<c>Telegram:Bots:N:AgentUuid</c>); null for <c>Osvi:AgentUuid</c>.</summary>
    internal string? AgentUuid { get; set; }

    /// <summary>Whether Telegram refusing the token stops the bridge (exit 2): when it is the only bot; else only this bot is down.</summary>
    internal bool RefusalStopsHost { get; set; } = true;

    /// <summary>The bot's name on <c>/readyz</c>, in logs and in <c>check</c>: <c>telegram</c>, or <c>telegram:{botId}</c>.</summary>
    internal string ChannelName => Instance.Length == 0 ? TelegramUpdateParser.Platform : TelegramUpdateParser.Platform + ":" + Instance;

    public static bool IsEnabled(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration?.GetSection(Section)["BotToken"]);

    /// <summary>
    /// Reads both allow-lists from the raw section. The binder skips an entry it cannot convert, so
    /// <c>AllowedChatIds__0=abc</c> would leave the list empty and open the bot to every chat, and it
    /// ignores a comma-separated value; both forms are read here, and every bad entry is a problem.
    /// </summary>
    internal void ReadAllowLists(IConfigurationSection section, ICollection<string> problems)
    {
        ArgumentNullException.ThrowIfNull(section);
        ReadIds(section.GetSection(nameof(AllowedChatIds)), AllowedChatIds, problems);
        ReadIds(section.GetSection(nameof(AllowedUserIds)), AllowedUserIds, problems);
    }

    /// <summary>
    /// Reads the allow-lists a bot of <c>Telegram:Bots</c> sets itself, in place of the ones it inherited
    /// from <c>Telegram</c>; a list it does not set stays inherited.
    /// </summary>
    internal void ReadAllowListsOver(IConfigurationSection entry, IList<long> inheritedChats, IList<long> inheritedUsers, ICollection<string> problems)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ReadOver(entry.GetSection(nameof(AllowedChatIds)), AllowedChatIds, inheritedChats, problems);
        ReadOver(entry.GetSection(nameof(AllowedUserIds)), AllowedUserIds, inheritedUsers, problems);
    }

    private static void ReadOver(IConfigurationSection list, IList<long> into, IList<long> inherited, ICollection<string> problems)
    {
        if (list.Exists())
        {
            ReadIds(list, into, problems);
            return;
        }
        into.Clear();
        foreach (var id in inherited)
        {
            into.Add(id);
        }
    }

    private static void ReadIds(IConfigurationSection list, IList<long> into, ICollection<string> problems)
    {
        into.Clear();
        var entries = new List<(string Key, string Text)>();
        if (!string.IsNullOrWhiteSpace(list.Value))
        {
            entries.Add((list.Path, list.Value));
        }
        entries.AddRange(list.GetChildren().Where(c => c.Value is not null).Select(c => (c.Path, c.Value!)));
        foreach (var (key, text) in entries)
        {
            foreach (var part in text.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (long.TryParse(part, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id) && id != 0)
                {
                    into.Add(id);
                }
                else
                {
                    problems.Add($"{key}: '{(part.Length > 40 ? part[..40] + "…" : part)}' is not a Telegram id; " +
                        $"list whole numbers such as 123456789 (a user) or -1001234567890 (a group), e.g. {list.Key}=7777,-1008888");
                }
            }
        }
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enum.IsDefined(Mode))
        {
            yield return new ValidationResult("Telegram:Mode must be Polling or Webhook", [nameof(Mode)]);
        }
        if (!Enum.IsDefined(ThinkingStyle))
        {
            yield return new ValidationResult("Telegram:ThinkingStyle must be Draft or Typing", [nameof(ThinkingStyle)]);
        }
        if (Mode != TelegramMode.Webhook)
        {
            yield break;
        }
        if (string.IsNullOrWhiteSpace(WebhookUrl))
        {
            yield return new ValidationResult("Telegram:WebhookUrl is required in Webhook mode", [nameof(WebhookUrl)]);
        }
        else if (!Uri.TryCreate(WebhookUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            yield return new ValidationResult("Telegram:WebhookUrl must be an absolute https URL", [nameof(WebhookUrl)]);
        }
        if (string.IsNullOrWhiteSpace(WebhookSecret))
        {
            yield return new ValidationResult("Telegram:WebhookSecret is required in Webhook mode", [nameof(WebhookSecret)]);
        }
        else if (!SecretPattern().IsMatch(WebhookSecret))
        {
            yield return new ValidationResult("Telegram:WebhookSecret must be 1-256 characters of A-Z, a-z, 0-9, _ and -", [nameof(WebhookSecret)]);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,256}$")]
    private static partial Regex SecretPattern();
}

/// <summary>
/// Reports a value the binder could not convert with the key's name, as a validation failure, so it is
/// listed with every other configuration problem instead of surfacing as an unexplained exception.
/// </summary>
internal sealed class TelegramBindingValidator : IValidateOptions<TelegramOptions>
{
    public ValidateOptionsResult Validate(string? name, TelegramOptions options) =>
        options.BindingErrors.Count > 0 ? ValidateOptionsResult.Fail(options.BindingErrors) : ValidateOptionsResult.Success;
}

/// <summary>The attribute and cross-key rules of <see cref="TelegramOptions"/>, checked by generated code.</summary>
[OptionsValidator]
public sealed partial class TelegramOptionsValidator : IValidateOptions<TelegramOptions>;

/// <summary>How the bridge receives Telegram updates.</summary>
public enum TelegramMode
{
    Polling,
    Webhook,
}

/// <summary>How a private chat sees that the agent is working.</summary>
public enum TelegramThinkingStyle
{
    Draft,
    Typing,
}

/// <summary>Whether a group shares one agent session or each member gets their own.</summary>
public enum TelegramGroupSessionScope
{
    Chat,
    User,
}
