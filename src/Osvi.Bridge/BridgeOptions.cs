using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Osvi.Bridge;

/// <summary>The <c>Bridge</c> configuration section: dispatching, shutdown and the bridge's own words to users.</summary>
public sealed class BridgeOptions
{
    public const string Section = "Bridge";

    /// <summary>Conversations worked on at once; messages of one conversation are always one at a time.</summary>
    [Range(1, 100_000, ErrorMessage = "Bridge:MaxConcurrency must be between 1 and 100000")]
    public int MaxConcurrency { get; set; } = 256;

    /// <summary>Messages held (queued or in flight) before adapters are made to wait.</summary>
    [Range(1, 10_000_000, ErrorMessage = "Bridge:QueueCapacity must be between 1 and 10000000")]
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>
    /// Messages of one conversation that queued up while the agent was busy with an earlier one go to the
    /// agent as one turn (joined with newlines, in order) when their turn comes; one that finds the
    /// conversation idle starts at once, as before.
    /// </summary>
    public bool MergeQueuedMessages { get; set; } = true;

    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", ErrorMessage = "Bridge:ShutdownTimeout must be between 00:00:00 and 1.00:00:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a platform event id is remembered to drop redeliveries. An hour covers what the platforms
    /// really redeliver (Slack retries within minutes; Telegram re-reads only the updates of a poll that a
    /// crash left unconfirmed) at a bounded cost: about 180 bytes of Redis per message, 0.65 GB at a
    /// sustained 1,000 msg/s (README → Capacity).
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00", ErrorMessage = "Bridge:DeduplicationWindow must be between 00:01:00 and 30.00:00:00")]
    public TimeSpan DeduplicationWindow { get; set; } = TimeSpan.FromHours(1);

    public bool SendWelcomeMessage { get; set; } = true;

    public const int DefaultMaxInboundLength = 8000;

    /// <summary>
    /// The longest text handed to the agent, in characters. Above Telegram's 4,096 so that no real
    /// Telegram message is refused; a longer one (a forged webhook body, a pasted document in Slack)
    /// gets <see cref="TooLongMessage"/> instead of going to the agent.
    /// </summary>
    [Range(100, 1_000_000, ErrorMessage = "Bridge:MaxInboundLength must be between 100 and 1000000")]
    public int MaxInboundLength { get; set; } = DefaultMaxInboundLength;

    /// <summary>The reply to a message above <see cref="MaxInboundLength"/>; <c>{MaxInboundLength}</c> is replaced by the limit.</summary>
    [Required(ErrorMessage = "Bridge:TooLongMessage is required")]
    public string TooLongMessage { get; set; } = "Your message is too long for me. Please keep it under {MaxInboundLength} characters.";

    [Required(ErrorMessage = "Bridge:ApologyMessage is required")]
    public string ApologyMessage { get; set; } = "Sorry, I can't reach the assistant right now. Please try again in a few minutes.";

    /// <summary>
    /// While OSVI cannot be reached, a conversation gets <see cref="ApologyMessage"/> at most once per this
    /// time; later failures within it send nothing (and are logged). Zero apologises every time.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", ErrorMessage = "Bridge:ApologyCooldown must be between 00:00:00 and 1.00:00:00")]
    public TimeSpan ApologyCooldown { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// When a user replies to (quotes) a message that is not the bot's, the agent gets the quoted text, cut to
    /// <see cref="MaxQuoteLength"/> characters, as a marked prefix (<c>[Replying to: "…"]</c>) before the user's words.
    /// </summary>
    public bool QuotedContext { get; set; } = true;

    [Range(0, 4096, ErrorMessage = "Bridge:MaxQuoteLength must be between 0 and 4096")]
    public int MaxQuoteLength { get; set; } = 500;

    [Required(ErrorMessage = "Bridge:ResetMessage is required")]
    public string ResetMessage { get; set; } = "Started a new conversation. What can I help you with?";

    [Required(ErrorMessage = "Bridge:HelpMessage is required")]
    public string HelpMessage { get; set; } =
        "Just write your question and the assistant will answer.\n\n/new or /reset: start a new conversation\n/help: show this help";

    [Required(ErrorMessage = "Bridge:AlreadyStartedMessage is required")]
    public string AlreadyStartedMessage { get; set; } = "We're already chatting: just send your message. Use /reset to start over.";
}

/// <summary>The attribute rules of <see cref="BridgeOptions"/>, checked by generated code.</summary>
[OptionsValidator]
public sealed partial class BridgeOptionsValidator : IValidateOptions<BridgeOptions>;
