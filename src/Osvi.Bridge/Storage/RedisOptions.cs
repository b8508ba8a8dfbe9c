using System.Globalization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Osvi.Bridge.Storage;

/// <summary>The <c>Redis</c> configuration section. An empty connection string selects the in-memory stores.</summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>A StackExchange.Redis configuration string, e.g. <c>redis:6379,password=…</c>.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>Prefix of every key; lets several bridges share one Redis database.</summary>
    public string KeyPrefix { get; set; } = "osvi-bridge:";

    public bool IsConfigured => !string.IsNullOrWhiteSpace(ConnectionString);
}

/// <summary>
/// <c>Redis:ConnectionString</c> must parse, and every endpoint in it must be <c>host</c> or
/// <c>host:port</c>: the client silently drops an endpoint such as <c>localhost:notaport</c> and would
/// then wait for a server it was never told about.
/// </summary>
public sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    private const string Form = "use host:port[,host:port…][,password=…][,ssl=true][,serviceName=…], e.g. redis:6379,password=…";

    public ValidateOptionsResult Validate(string? name, RedisOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.IsConfigured)
        {
            return ValidateOptionsResult.Success;
        }
        var problems = new List<string>();
        var endpoints = 0;
        foreach (var part in options.ConnectionString.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (part.Contains('=', StringComparison.Ordinal))
            {
                continue;
            }
            endpoints++;
            if (!IsEndpoint(part))
            {
                problems.Add($"Redis:ConnectionString: '{part}' is not an endpoint; {Form}");
            }
        }
        if (problems.Count == 0)
        {
            try
            {
                ConfigurationOptions.Parse(options.ConnectionString);
            }
            catch (ArgumentException ex)
            {
                // The library's message names the option ("Keyword 'foo' is not supported") but never the password.
                problems.Add($"Redis:ConnectionString: {ex.Message.Split(" (Parameter", 2)[0].ReplaceLineEndings(" ")}; {Form}");
            }
            if (endpoints == 0)
            {
                problems.Add($"Redis:ConnectionString names no server; {Form}");
            }
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static bool IsEndpoint(string text)
    {
        string host;
        string? port = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }
            host = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':')
                {
                    return false;
                }
                port = rest[1..];
            }
        }
        else if (text.Count(c => c == ':') == 1)
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            host = text[..colon];
            port = text[(colon + 1)..];
        }
        else
        {
            // No colon, or several (an IPv6 address without a port).
            host = text;
        }
        return host.Length > 0
            && (port is null || (int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is > 0 and <= 65535));
    }
}
