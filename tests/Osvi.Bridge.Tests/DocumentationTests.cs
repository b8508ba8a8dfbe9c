using Osvi.Bridge.Dispatching;
using System.Collections;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.Adapters.Telegram;
using Osvi.Bridge.Handoff;
using Osvi.Bridge.Osvi;
using Osvi.Bridge.Sessions;
using Osvi.Bridge.Storage;

namespace Osvi.Bridge.Tests;

/// <summary>
/// README's configuration table, appsettings.json and deploy/bridge.env.example kept in step with
/// the options classes: every key in all three, with the code's default in the two files.
/// </summary>
public sealed class DocumentationTests
{
    private static readonly string Root = FindRoot();

    /// <summary>Placeholders or reformatted text in the env example, not the default itself.</summary>
    private static readonly HashSet<string> NotDefaultsInEnvExample = ["Osvi:ApiToken", "Osvi:AgentUuid", "Bridge:HelpMessage"];

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Osvi.Bridge.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Osvi.Bridge.sln not found");
    }

    public static TheoryData<string, Type> Sections() => new()
    {
        { OsviOptions.Section, typeof(OsviOptions) },
        { RedisOptions.Section, typeof(RedisOptions) },
        { SessionsOptions.Section, typeof(SessionsOptions) },
        { BridgeOptions.Section, typeof(BridgeOptions) },
        { InboxOptions.Section, typeof(InboxOptions) },
        { TelegramOptions.Section, typeof(TelegramOptions) },
        { SlackOptions.Section, typeof(SlackOptions) },
        { HandoffOptions.Section, typeof(HandoffOptions) },
    };

    /// <summary>What a user can set: public properties with a public setter, and the lists.</summary>
    private static IEnumerable<PropertyInfo> Settings(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true } || (p.PropertyType.IsGenericType && p.PropertyType.GetGenericTypeDefinition() == typeof(IList<>)));

    [Theory]
    [MemberData(nameof(Sections))]
    public void Every_setting_is_in_the_readme_appsettings_and_the_env_example_with_the_code_default(string section, Type type)
    {
        var readme = File.ReadAllText(Path.Combine(Root, "README.md"));
        var appsettings = new ConfigurationBuilder().AddJsonFile(Path.Combine(Root, "appsettings.json")).Build();
        var envLines = File.ReadAllLines(Path.Combine(Root, "deploy", "bridge.env.example"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0].Replace("__", ":", StringComparison.Ordinal), p => (string?)p[1], StringComparer.OrdinalIgnoreCase);
        var example = new ConfigurationBuilder().AddInMemoryCollection(envLines).Build();
        var defaults = Activator.CreateInstance(type)!;
        var fromFile = appsettings.GetSection(section).Get(type) ?? Activator.CreateInstance(type)!;
        var fromExample = example.GetSection(section).Get(type) ?? Activator.CreateInstance(type)!;

        foreach (var property in Settings(type))
        {
            var key = $"{section}:{property.Name}";
            Assert.True(readme.Contains($"`{section}__{property.Name}`", StringComparison.Ordinal), $"README.md does not document {section}__{property.Name}");
            Assert.True(appsettings.GetSection(key).Exists() || IsList(property), $"appsettings.json lacks {key}");
            Assert.True(envLines.ContainsKey(key), $"deploy/bridge.env.example lacks {section}__{property.Name}");
            Assert.True(Same(property.GetValue(defaults), property.GetValue(fromFile)), $"appsettings.json's {key} is not the code's default");
            if (!NotDefaultsInEnvExample.Contains(key))
            {
                Assert.True(Same(property.GetValue(defaults), property.GetValue(fromExample)), $"bridge.env.example's {key} is not the code's default");
            }
        }
    }

    [Fact]
    public void The_readme_names_no_file_that_is_not_in_the_repository()
    {
        var readme = File.ReadAllText(Path.Combine(Root, "README.md"));
        foreach (System.Text.RegularExpressions.Match match in System.Text.RegularExpressions.Regex.Matches(readme, @"\b(?:deploy|bench|src|tests)/[\w./-]+\.(?:ya?ml|example|md|cs|json)\b|\b\w+\.md\b"))
        {
            var path = match.Value;
            var exists = File.Exists(Path.Combine(Root, path)) || Directory.GetFiles(Root, Path.GetFileName(path), SearchOption.AllDirectories).Length > 0;
            Assert.True(exists, $"README.md names {path}, which does not exist");
        }
    }

    private static bool IsList(PropertyInfo property) => typeof(IEnumerable).IsAssignableFrom(property.PropertyType) && property.PropertyType != typeof(string);

    private static bool Same(object? expected, object? actual) =>
        expected is IEnumerable a && expected is not string && actual is IEnumerable b
            ? a.Cast<object>().SequenceEqual(b.Cast<object>())
            : Equals(expected, actual);
}
