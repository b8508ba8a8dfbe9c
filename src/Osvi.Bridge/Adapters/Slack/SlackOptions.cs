using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>How the Slack channel receives events.</summary>
public enum SlackReceiveMode
{
    /// <summary>No way to receive events is configured.</summary>
    None,

    /// <summary>A WebSocket opened by us with the app-level token (no public URL needed).</summary>
    SocketMode,

    /// <summary>Slack posts signed events to <c>POST /slack/events</c>.</summary>
    EventsApi,
}

/// <summary>The <c>Slack</c> configuration section. The channel is on when <see cref="BotToken"/> is set.</summary>
public sealed class SlackOptions : IValidatableObject
{
    public const string Section = "Slack";

    public string BotToken { get; set; } = "";

    /// <summary>App-level token (<c>xapp-</c>); set → Socket Mode, which takes precedence over the signing secret.</summary>
    public string AppToken { get; set; } = "";

    /// <summary>Set (and no app token) → Events API over HTTP.</summary>
    public string SigningSecret { get; set; } = "";

    [Required(ErrorMessage = "Slack:ApiBaseUrl is required")]
    [Url(ErrorMessage = "Slack:ApiBaseUrl must be an absolute http(s) URL")]
    public string ApiBaseUrl { get; set; } = "https://slack.com/api/";

    /// <summary>Show a placeholder while the agent works; the answer replaces it.</summary>
    public bool ShowProgress { get; set; } = true;

    /// <summary>Progress is shown only when the agent takes longer than this, so a quick answer is one post.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ErrorMessage = "Slack:ProgressDelay must be between 00:00:00 and 00:01:00")]
    public TimeSpan ProgressDelay { get; set; } = TimeSpan.FromSeconds(0.5);

    /// <summary>
    /// In a thread, show progress as Slack's loading status (<c>assistant.threads.setStatus</c>) instead
    /// of a placeholder message; the placeholder remains where Slack refuses it and outside threads.
    /// </summary>
    public bool UseThreadStatus { get; set; } = true;

    [Required(ErrorMessage = "Slack:ProgressText is required")]
    public string ProgressText { get; set; } = "_Thinking…_";

    /// <summary>Sustained <c>chat.postMessage</c> rate per channel (Slack allows about one per second, with bursts).</summary>
    [Range(0.01, 100, ErrorMessage = "Slack:PostsPerSecondPerChannel must be between 0.01 and 100")]
    public double PostsPerSecondPerChannel { get; set; } = 1;

    /// <summary>Posts a quiet channel may send at once before pacing starts.</summary>
    [Range(1, 100, ErrorMessage = "Slack:PostBurst must be between 1 and 100")]
    public int PostBurst { get; set; } = 4;

    /// <summary>Retries of a Web API call after HTTP 429 or a transient failure.</summary>
    [Range(0, 10, ErrorMessage = "Slack:MaxRetries must be between 0 and 10")]
    public int MaxRetries { get; set; } = 3;

    /// <summary>The first retry delay after a transient failure; later ones grow exponentially, with jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ErrorMessage = "Slack:RetryDelay must be between 00:00:00 and 00:01:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(0.5);

    /// <summary>A 429 asking to wait longer than this is not retried (the caller fails instead of hanging).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Slack:MaxRetryAfter must be between 00:00:00 and 00:10:00")]
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>One attempt of a Web API call; a <c>chat.postMessage</c> that timed out is not repeated (it may have been posted).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00", ErrorMessage = "Slack:RequestTimeout must be between 00:00:01 and 00:05:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Socket Mode connections kept open at once (Slack allows 10), opened staggered so a refresh or drop never leaves none.</summary>
    [Range(1, 10, ErrorMessage = "Slack:SocketConnections must be between 1 and 10")]
    public int SocketConnections { get; set; } = 2;

    /// <summary>The first Socket Mode reconnect delay; later ones double, with jitter, up to <see cref="MaxReconnectDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00", ErrorMessage = "Slack:ReconnectDelay must be between 00:00:00 and 00:05:00")]
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00", "00:30:00", ErrorMessage = "Slack:MaxReconnectDelay must be between 00:00:00 and 00:30:00")]
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a user's display name from <c>users.info</c> is reused.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00", ErrorMessage = "Slack:UserCacheTtl must be between 00:00:00 and 7.00:00:00")]
    public TimeSpan UserCacheTtl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a new session waits for <c>users.info</c> before using the user id as the name.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:30", ErrorMessage = "Slack:UserLookupTimeout must be between 00:00:00.010 and 00:00:30")]
    public TimeSpan UserLookupTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The app's slash command: <c>{SlashCommand} reset</c> and <c>{SlashCommand} help</c> (Slack refuses an
    /// unknown <c>/reset</c>). Must match the command configured in the Slack app (see deploy/slack-app-manifest.yaml).
    /// </summary>
    [RegularExpression("^/[a-z0-9_-]{1,31}$", ErrorMessage = "Slack:SlashCommand must be '/' and 1-31 lowercase letters, digits, '-' or '_' (e.g. /osvi)")]
    public string SlashCommand { get; set; } = "/osvi";

    /// <summary>The ephemeral answer to <c>{SlashCommand} reset</c> in a channel; <c>{Command}</c> is replaced by the command.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Slack:SlashCommandChannelNotice is required")]
    public string SlashCommandChannelNotice { get; set; } =
        "In channels every thread is its own conversation: mention me in a new thread to start over. {Command} reset works in a direct message with me.";

    /// <summary>
    /// When a mention opens a conversation in a thread someone else started, the agent gets the thread's first
    /// message as quoted context (one <c>conversations.replies</c> call per new thread conversation; needs
    /// <c>channels:history</c> / <c>groups:history</c>). Only with <c>Bridge:QuotedContext</c>.
    /// </summary>
    public bool QuoteThreadParent { get; set; } = true;

    public bool IsEnabled => !string.IsNullOrWhiteSpace(BotToken);

    // Which configured app these options are (SlackAppEntries); not configuration keys themselves.

    /// <summary>Where the app's keys live: <c>Slack</c>, or <c>Slack:Apps:N</c> for an app of the list.</summary>
    internal string ConfigPath { get; set; } = Section;

    /// <summary>The app's ID (<c>Slack:Apps:N:AppId</c>, A…): its path <c>/slack/events/{AppId}</c>; empty when not set.</summary>
    internal string AppId { get; set; } = "";

    /// <summary>Empty for the default (first) app, else its <see cref="AppId"/>: <see cref="Messaging.InboundMessage.Instance"/>.</summary>
    internal string Instance { get; set; } = "";

    /// <summary>The agent that answers this app's conversations (<c>Slack:Apps:N:AgentUuid</c>); null for <c>Osvi:AgentUuid</c>.</summary>
    internal string? AgentUuid { get; set; }

    /// <summary>Whether Slack refusing the bot token stops the bridge (exit 2): when it is the only app; else only this app is down.</summary>
    internal bool RefusalStopsHost { get; set; } = true;

    /// <summary>The app's name on <c>/readyz</c>, in logs and in <c>check</c>: <c>slack</c>, or <c>slack:{AppId}</c>.</summary>
    internal string ChannelName => Instance.Length == 0 ? SlackEventParser.Platform : SlackEventParser.Platform + ":" + Instance;

    /// <summary>Where Slack posts this app's events in Events API mode.</summary>
    internal string EventsPath => Instance.Length == 0 ? SlackEventsEndpoint.Path : SlackEventsEndpoint.Path + "/" + Instance;

    public SlackReceiveMode Mode =>
        !string.IsNullOrWhiteSpace(AppToken) ? SlackReceiveMode.SocketMode
        : !string.IsNullOrWhiteSpace(SigningSecret) ? SlackReceiveMode.EventsApi
        : SlackReceiveMode.None;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!IsEnabled)
        {
            yield break;
        }
        // Only token kinds that are surely wrong are refused here (an app or user token in the bot
        // slot, a bot or user token in the app slot); auth.test at start judges the rest.
        if (BotToken.StartsWith("xapp-", StringComparison.Ordinal) || BotToken.StartsWith("xoxp-", StringComparison.Ordinal))
        {
            yield return new ValidationResult("Slack:BotToken must be a bot token starting with 'xoxb-'", [nameof(BotToken)]);
        }
        if (AppToken.StartsWith("xox", StringComparison.Ordinal))
        {
            yield return new ValidationResult("Slack:AppToken must be an app-level token starting with 'xapp-'", [nameof(AppToken)]);
        }
        if (Mode == SlackReceiveMode.None)
        {
            yield return new ValidationResult(
                "Slack:BotToken is set but Slack cannot reach the bridge: set Slack:AppToken (xapp-…, Socket Mode) or Slack:SigningSecret (Events API at POST /slack/events)",
                [nameof(AppToken), nameof(SigningSecret)]);
        }
        if (MaxReconnectDelay < ReconnectDelay)
        {
            yield return new ValidationResult("Slack:MaxReconnectDelay must not be shorter than Slack:ReconnectDelay", [nameof(MaxReconnectDelay)]);
        }
    }
}

/// <summary>The attribute and cross-key rules of <see cref="SlackOptions"/>, checked by generated code.</summary>
[OptionsValidator]
public sealed partial class SlackOptionsValidator : IValidateOptions<SlackOptions>;
