using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Osvi.Bridge.Dispatching;

/// <summary>The <c>Inbox</c> configuration section: takeover, partitions and how long a message is retried.</summary>
public sealed class InboxOptions
{
    public const string Section = "Inbox";

    /// <summary>
    /// How soon a dead replica's conversations (and its Telegram poller lease) are taken over. Leases
    /// live two thirds of it and are renewed every sixth, so a stalled replica loses them in time.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Inbox:LeaseTimeout must be between 00:00:01 and 01:00:00")]
    public TimeSpan LeaseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Streams the durable inbox spreads conversations over (a conversation always maps to the same
    /// one); one replica works on a partition at a time, so this bounds how many replicas share work.
    /// Every replica must use the same value; change it only with an empty inbox.
    /// </summary>
    [Range(1, 1024, ErrorMessage = "Inbox:Partitions must be between 1 and 1024")]
    public int Partitions { get; set; } = 16;

    /// <summary>Attempts at one message (transient failures, crashes while handling it) before it is dead-lettered.</summary>
    [Range(1, 1000, ErrorMessage = "Inbox:MaxAttempts must be between 1 and 1000")]
    public int MaxAttempts { get; set; } = 12;

    /// <summary>Pause before the second attempt; doubled for each further one up to <see cref="MaxRetryDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ErrorMessage = "Inbox:RetryDelay must be between 00:00:00 and 01:00:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", ErrorMessage = "Inbox:MaxRetryDelay must be between 00:00:00 and 1.00:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Dead letters kept (the oldest are trimmed beyond this).</summary>
    [Range(1, 10_000_000, ErrorMessage = "Inbox:DeadLetterCapacity must be between 1 and 10000000")]
    public int DeadLetterCapacity { get; set; } = 10_000;

    internal TimeSpan LeaseTtl => LeaseTimeout * 2 / 3;

    internal TimeSpan RenewInterval => LeaseTimeout / 6;
}

/// <summary>The attribute rules of <see cref="InboxOptions"/>, checked by generated code.</summary>
[OptionsValidator]
public sealed partial class InboxOptionsValidator : IValidateOptions<InboxOptions>;
