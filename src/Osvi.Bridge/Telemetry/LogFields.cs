using System.Collections;

namespace Osvi.Bridge.Telemetry;

/// <summary>
/// A log scope of named fields. The JSON console writes each field as a property and the scope's
/// text beside them, and the simple console writes only the text: both read <c>Key=value, …</c>
/// here, where a dictionary would print its type name.
/// </summary>
public sealed class LogFields : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly KeyValuePair<string, object?>[] _fields;

    public LogFields(params KeyValuePair<string, object?>[] fields) => _fields = fields;

    public LogFields(string key, object? value) => _fields = [new(key, value)];

    public LogFields(string key1, object? value1, string key2, object? value2, string key3, object? value3) =>
        _fields = [new(key1, value1), new(key2, value2), new(key3, value3)];

    public int Count => _fields.Length;

    public KeyValuePair<string, object?> this[int index] => _fields[index];

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_fields).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Join(", ", _fields.Select(f => $"{f.Key}={f.Value}"));
}
