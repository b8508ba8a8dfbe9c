using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Osvi.Bridge.Osvi;

/// <summary>The <c>Osvi</c> configuration section: where the agent lives, which chat API it speaks and how patiently we call it.</summary>
public sealed class OsviOptions : IValidatableObject
{
    public const string Section = "Osvi";

    /// <summary>Which OSVI chat API the bridge speaks; see <see cref="OsviApiVersion"/>.</summary>
    public OsviApiVersion ApiVersion { get; set; } = OsviApiVersion.Legacy;

    [Required(ErrorMessage = "Osvi:BaseUrl is required")]
    [Url(ErrorMessage = "Osvi:BaseUrl must be an absolute http(s) URL")]
    public string BaseUrl { get; set; } = "https://api.osvi.ai";

    [Required(ErrorMessage = "Osvi:ApiToken is required")]
    public string ApiToken { get; set; } = "";

    [Required(ErrorMessage = "Osvi:AgentUuid is required")]
    public string AgentUuid { get; set; } = "";

    /// <summary>One attempt's limit; agents can be slow, so the default is generous.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Osvi:RequestTimeout must be between 00:00:01 and 01:00:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The limit across all attempts of one call, retries and back-off included.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "02:00:00", ErrorMessage = "Osvi:TotalTimeout must be between 00:00:01 and 02:00:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromMinutes(3);

    [Range(0, 10, ErrorMessage = "Osvi:MaxRetries must be between 0 and 10")]
    public int MaxRetries { get; set; } = 4;

    /// <summary>The first back-off delay; later ones grow exponentially, with jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ErrorMessage = "Osvi:RetryDelay must be between 00:00:00 and 00:01:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// While OSVI refuses the token, how often a read-only call checks whether it works again, so that
    /// <c>/readyz</c> recovers without waiting for a user's message.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00", ErrorMessage = "Osvi:AuthProbeInterval must be between 00:00:00.100 and 01:00:00")]
    public TimeSpan AuthProbeInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Why binding failed (a value of the wrong type, e.g. <c>ApiVersion=V2</c>); reported by validation.</summary>
    internal string? BindingError { get; set; }

    /// <summary>These options speaking for another agent (a channel entry's <c>AgentUuid</c>).</summary>
    internal OsviOptions WithAgent(string agentUuid)
    {
        var copy = (OsviOptions)MemberwiseClone();
        copy.AgentUuid = agentUuid;
        return copy;
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enum.IsDefined(ApiVersion))
        {
            yield return new ValidationResult("Osvi:ApiVersion must be Legacy or V1", [nameof(ApiVersion)]);
        }
    }
}

/// <summary>
/// The OSVI chat API flavour: <see cref="Legacy"/> (<c>/chat_sessions</c>, <c>/chat_messages/send_message</c>,
/// marked for deprecation) or <see cref="V1"/> (<c>/v1/chat/session</c>, <c>/v1/chat/inbound</c>).
/// </summary>
public enum OsviApiVersion
{
    Legacy,
    V1,
}

/// <summary>
/// Reports a value the binder could not convert, naming its key, as a validation failure, so it is listed
/// with every other configuration problem instead of surfacing as an unexplained exception.
/// </summary>
internal sealed class OsviBindingValidator : IValidateOptions<OsviOptions>
{
    public ValidateOptionsResult Validate(string? name, OsviOptions options) =>
        options.BindingError is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;
}

/// <summary>The attribute rules of <see cref="OsviOptions"/>, checked by generated code (no reflection).</summary>
[OptionsValidator]
public sealed partial class OsviOptionsValidator : IValidateOptions<OsviOptions>;

/// <summary>Rules across <see cref="OsviOptions"/> keys: one attempt cannot outlast the whole call.</summary>
public sealed class OsviOptionsConsistency : IValidateOptions<OsviOptions>
{
    public ValidateOptionsResult Validate(string? name, OsviOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.RequestTimeout > options.TotalTimeout
            ? ValidateOptionsResult.Fail(
                $"Osvi:RequestTimeout ({options.RequestTimeout}) must not be longer than Osvi:TotalTimeout ({options.TotalTimeout}), the limit across all attempts")
            : ValidateOptionsResult.Success;
    }
}
