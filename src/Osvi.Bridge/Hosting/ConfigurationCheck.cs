using Osvi.Bridge.Dispatching;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.Adapters.Telegram;
using Osvi.Bridge.Handoff;
using Osvi.Bridge.Osvi;
using Osvi.Bridge.Sessions;
using Osvi.Bridge.Storage;

namespace Osvi.Bridge.Hosting;

/// <summary>
/// Reads every known configuration section before the host binds any of them and lists every
/// problem at once, each naming its key and the accepted form: a value the binder cannot convert
/// (which would otherwise throw at the first one, as a crash), a value out of range, keys that
/// contradict each other, no channel at all.
/// </summary>
public static partial class ConfigurationCheck
{
    public const string NoChannel =
        "No channel is configured: set Telegram:BotToken (Telegram__BotToken) and/or Slack:BotToken (Slack__BotToken).";

    /// <param name="configuration">The host's configuration (files, environment, command line).</param>
    /// <param name="requireChannel">Whether a missing channel is a problem (the worker) or not (<c>chat</c>, <c>check</c>).</param>
    public static List<string> FindProblems(IConfiguration configuration, bool requireChannel)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        CheckSection<OsviOptions>(configuration, OsviOptions.Section, [new OsviOptionsValidator(), new OsviOptionsConsistency()], problems);
        CheckSection<RedisOptions>(configuration, RedisOptions.Section, [new RedisOptionsValidator()], problems);
        CheckSection<SessionsOptions>(configuration, SessionsOptions.Section, [new SessionsOptionsValidator()], problems);
        CheckSection<BridgeOptions>(configuration, BridgeOptions.Section, [new BridgeOptionsValidator()], problems);
        CheckSection<InboxOptions>(configuration, InboxOptions.Section, [new InboxOptionsValidator()], problems);
        var telegram = TelegramOptions.IsEnabled(configuration);
        if (telegram)
        {
            CheckSection<TelegramOptions>(configuration, TelegramOptions.Section, [new TelegramOptionsValidator()], problems,
                (section, options, found) => options.ReadAllowLists(section, found));
        }
        var slack = !string.IsNullOrWhiteSpace(configuration.GetSection(SlackOptions.Section)["BotToken"]);
        if (slack)
        {
            CheckSection<SlackOptions>(configuration, SlackOptions.Section, [new SlackOptionsValidator()], problems);
        }
        CheckSection<HandoffOptions>(configuration, HandoffOptions.Section, [new HandoffOptionsValidator(), new HandoffRequirements(configuration)], problems);
        if (requireChannel && !telegram && !slack)
        {
            problems.Add(NoChannel);
        }
        return problems;
    }

    /// <summary>
    /// The problems as the exception the commands turn into exit code 2: one inner exception per problem,
    /// so callers that list <see cref="AggregateException.InnerExceptions"/> see each one.
    /// </summary>
    public static AggregateException ToException(IEnumerable<string> problems) =>
        new("The configuration is not valid.", problems.Select(p => new BridgeConfigurationException(p)));

    /// <summary>The message we wrote ("Osvi:ApiToken is required"), without the framework's wrapping.</summary>
    public static string Clean(string failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        if (WrappedFailure().Match(failure) is { Success: true } wrapped)
        {
            failure = wrapped.Groups["m"].Value;
        }
        // The generated validators put the member first: "MaxConcurrency: Bridge:MaxConcurrency must be …".
        if (MemberPrefix().Match(failure) is { Success: true } prefixed)
        {
            failure = prefixed.Groups["m"].Value;
        }
        // Their RangeAttribute ignores ErrorMessage ("The field BridgeOptions.MaxConcurrency must be
        // between 1 and 100000."); the section is the type's name without "Options".
        if (DefaultRangeMessage().Match(failure) is { Success: true } range)
        {
            return $"{range.Groups["section"].Value}:{range.Groups["key"].Value} {range.Groups["rest"].Value}";
        }
        // A section no check here knows about (added later) still fails by key, not as a crash.
        if (BinderFailure().Match(failure) is { Success: true } binder)
        {
            return $"{binder.Groups["key"].Value}: the value is not a valid {FriendlyType(binder.Groups["type"].Value)}";
        }
        return failure.TrimEnd();
    }

    private static void CheckSection<T>(IConfiguration configuration, string name, IValidateOptions<T>[] validators,
        List<string> problems, Action<IConfigurationSection, T, List<string>>? afterBind = null)
        where T : class, new()
    {
        var section = configuration.GetSection(name);
        var properties = typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

        // Each value is tried alone with the real binder, so exactly what it would refuse is refused,
        // and the rest of the section is still bound and validated below.
        var bad = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var child in section.GetChildren())
        {
            if (child.Value is null || !properties.TryGetValue(child.Key, out var property))
            {
                continue;
            }
            var single = new ConfigurationBuilder().AddInMemoryCollection([new(child.Key, child.Value)]).Build();
            try
            {
                single.Bind(new T());
            }
            catch (InvalidOperationException)
            {
                bad.Add(child.Key);
                problems.Add($"{name}:{property.Name}: '{Shorten(child.Value)}' is not valid; {AcceptedForm(property.PropertyType)}");
            }
        }

        var good = section.AsEnumerable(makePathsRelative: true)
            .Where(p => p.Key.Length > 0 && !bad.Contains(p.Key.Split(':', 2)[0]))
            .ToList();
        var options = new T();
        try
        {
            new ConfigurationBuilder().AddInMemoryCollection(good).Build().Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            problems.Add(Clean(ex.Message));
            return;
        }
        afterBind?.Invoke(section, options, problems);
        foreach (var validator in validators)
        {
            var result = validator.Validate(Options.DefaultName, options);
            if (result.Failed)
            {
                problems.AddRange(result.Failures.Select(Clean));
            }
        }
    }

    private static string AcceptedForm(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsEnum)
        {
            return "use one of " + string.Join(", ", Enum.GetNames(type));
        }
        return type switch
        {
            _ when type == typeof(TimeSpan) => "use a duration as [d.]hh:mm:ss[.fff], e.g. 00:00:30 (30 seconds) or 1.00:00:00 (one day)",
            _ when type == typeof(bool) => "use true or false",
            _ when type == typeof(int) || type == typeof(long) => "use a whole number, e.g. 10",
            _ when type == typeof(double) => "use a number, e.g. 0.5 (with a dot)",
            _ => "use a value of type " + type.Name,
        };
    }

    private static string FriendlyType(string typeName) => typeName switch
    {
        "System.TimeSpan" => "duration ([d.]hh:mm:ss, e.g. 00:00:30)",
        "System.Int32" or "System.Int64" => "whole number",
        "System.Double" => "number (e.g. 0.5)",
        "System.Boolean" => "true or false",
        _ => typeName[(typeName.LastIndexOf('.') + 1)..],
    };

    private static string Shorten(string value) => value.Length > 40 ? value[..40] + "…" : value;

    [GeneratedRegex("with the error: '(?<m>.*)'\\.?$", RegexOptions.Singleline)]
    private static partial Regex WrappedFailure();

    [GeneratedRegex("^[A-Za-z0-9_]+(?:, [A-Za-z0-9_]+)*: (?<m>.+)$", RegexOptions.Singleline)]
    private static partial Regex MemberPrefix();

    [GeneratedRegex("^The field (?<section>[A-Za-z0-9_]+)Options\\.(?<key>[A-Za-z0-9_]+) (?<rest>.+?)\\.?$", RegexOptions.Singleline)]
    private static partial Regex DefaultRangeMessage();

    [GeneratedRegex("Failed to convert configuration value (?:'.*' )?at '(?<key>[^']*)' to type '(?<type>[^']*)'", RegexOptions.Singleline)]
    private static partial Regex BinderFailure();
}
