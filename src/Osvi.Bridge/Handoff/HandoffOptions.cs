using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Osvi;

namespace Osvi.Bridge.Handoff;

/// <summary>
/// The <c>Handoff</c> configuration section: where help requests open support threads. Off while
/// <see cref="SlackChannel"/> is empty; on, it needs the Slack channel and OSVI Chat v1 (<see cref="HandoffRequirements"/>).
/// </summary>
public sealed partial class HandoffOptions : IValidatableObject
{
    public const string Section = "Handoff";

    /// <summary>The Slack channel id (C…, or G… for an older private channel) where help requests open threads.</summary>
    public string SlackChannel { get; set; } = "";

    public bool IsEnabled => !string.IsNullOrWhiteSpace(SlackChannel);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (IsEnabled && !ChannelId().IsMatch(SlackChannel))
        {
            // Slack events name channels by id only; a name would never match one.
            yield return new ValidationResult(
                $"Handoff:SlackChannel '{SlackChannel}' is not a Slack channel id; use the id (e.g. C0123456789, from the channel's details), not its name",
                [nameof(SlackChannel)]);
        }
    }

    [GeneratedRegex("^[CG][A-Z0-9]{2,}$")]
    private static partial Regex ChannelId();
}

/// <summary>The attribute rules of <see cref="HandoffOptions"/>, checked by generated code.</summary>
[OptionsValidator]
public sealed partial class HandoffOptionsValidator : IValidateOptions<HandoffOptions>;

/// <summary>
/// Rules across sections: a support channel needs the Slack channel (the operators' side) and OSVI
/// Chat v1 (<c>help_requested</c> and the support commands exist only there).
/// </summary>
public sealed class HandoffRequirements(IConfiguration configuration) : IValidateOptions<HandoffOptions>
{
    public ValidateOptionsResult Validate(string? name, HandoffOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.IsEnabled)
        {
            return ValidateOptionsResult.Success;
        }
        var failures = new List<string>();
        // The default Slack app answers the support channel: the single keys, or the first entry of the list.
        if (string.IsNullOrWhiteSpace(configuration["Slack:BotToken"]) && string.IsNullOrWhiteSpace(configuration["Slack:Apps:0:BotToken"]))
        {
            failures.Add("Handoff:SlackChannel needs the Slack channel: set Slack:BotToken (Slack__BotToken) or Slack:Apps:0:BotToken and invite the app to the support channel");
        }
        var version = configuration["Osvi:ApiVersion"];
        // An unknown version is reported by the Osvi section already.
        if (!Enum.TryParse<OsviApiVersion>(version, ignoreCase: true, out var parsed) && !string.IsNullOrWhiteSpace(version))
        {
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
        if (string.IsNullOrWhiteSpace(version) || parsed != OsviApiVersion.V1)
        {
            failures.Add("Handoff:SlackChannel needs Osvi:ApiVersion=V1 (Osvi__ApiVersion): only OSVI Chat v1 reports help_requested and has the support commands");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
