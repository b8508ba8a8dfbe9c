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
