namespace Osvi.Bridge.Messaging;

/// <summary>
/// A stable, platform-qualified name of one external conversation, e.g. <c>telegram:42:-1001</c>
/// or <c>slack:T1:C1:1700000000.000100</c>. One key maps to one OSVI chat session.
/// </summary>
public readonly record struct ConversationKey
{
    public ConversationKey(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        Value = value;
    }

    public string Value { get; }

    /// <summary>Joins platform and parts with ':'; empty or null parts are skipped.</summary>
    public static ConversationKey Create(string platform, params string?[] parts)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(platform);
        var present = parts.Where(p => !string.IsNullOrEmpty(p));
        return new ConversationKey(string.Join(':', present.Prepend(platform)));
    }

    public override string ToString() => Value;
}
