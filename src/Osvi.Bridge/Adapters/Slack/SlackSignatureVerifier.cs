using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>The verdict on one request's <c>X-Slack-Signature</c>.</summary>
public enum SlackSignatureVerdict
{
    Valid,
    MissingHeaders,
    StaleTimestamp,
    Mismatch,
}

/// <summary>
/// Checks Slack's v0 request signature: <c>v0=</c> + hex(HMAC-SHA256(signing secret,
/// <c>v0:{timestamp}:{raw body}</c>)), compared in constant time, with timestamps more than five
/// minutes from now refused so that a captured request cannot be replayed later.
/// </summary>
public sealed class SlackSignatureVerifier
{
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    // "v0=" and 64 hex digits of HMAC-SHA256.
    private const int SignatureLength = 3 + 64;

    private readonly byte[] _key;
    private readonly TimeProvider _time;

    public SlackSignatureVerifier(string signingSecret, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(signingSecret);
        _key = Encoding.UTF8.GetBytes(signingSecret);
        _time = time;
    }

    /// <summary>
    /// What the headers alone tell: missing or malformed, or a stale timestamp, is refused before the
    /// body is read (so unsigned requests cost no buffering); <see cref="SlackSignatureVerdict.Valid"/>
    /// here only means the body is worth reading and checking with <see cref="Verify"/>.
    /// </summary>
    public SlackSignatureVerdict CheckHeaders(string? timestamp, string? signature)
    {
        if (string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(signature)
            || !long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return SlackSignatureVerdict.MissingHeaders;
        }
        if (!signature.StartsWith("v0=", StringComparison.Ordinal) || signature.Length != SignatureLength)
        {
            // No body can match a signature of the wrong shape.
            return SlackSignatureVerdict.Mismatch;
        }
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        return Math.Abs(now - seconds) > (long)MaxClockSkew.TotalSeconds ? SlackSignatureVerdict.StaleTimestamp : SlackSignatureVerdict.Valid;
    }

    public SlackSignatureVerdict Verify(string? timestamp, string? signature, ReadOnlySpan<byte> body)
    {
        var headers = CheckHeaders(timestamp, signature);
        if (headers != SlackSignatureVerdict.Valid)
        {
            return headers;
        }

        var expected = Encoding.ASCII.GetBytes(Sign(timestamp!, body));
        var actual = Encoding.ASCII.GetBytes(signature!);
        return CryptographicOperations.FixedTimeEquals(expected, actual) ? SlackSignatureVerdict.Valid : SlackSignatureVerdict.Mismatch;
    }

    /// <summary>The header value Slack would send for this timestamp and body.</summary>
    public string Sign(string timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(timestamp);
        var prefix = Encoding.UTF8.GetBytes($"v0:{timestamp}:");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        var hash = HMACSHA256.HashData(_key, message);
        return "v0=" + Convert.ToHexStringLower(hash);
    }
}
