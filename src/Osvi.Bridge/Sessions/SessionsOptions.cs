using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Osvi.Bridge.Sessions;

/// <summary>The <c>Sessions</c> configuration section.</summary>
public sealed class SessionsOptions
{
    public const string Section = "Sessions";

    /// <summary>How long an unused conversation keeps its OSVI session; refreshed on every message.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00", ErrorMessage = "Sessions:IdleTimeout must be between 00:01:00 and 365.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>The attribute rules of <see cref="SessionsOptions"/>, checked by generated code.</summary>
[OptionsValidator]
public sealed partial class SessionsOptionsValidator : IValidateOptions<SessionsOptions>;
