using System.Text;
using Microsoft.Extensions.Time.Testing;
using Osvi.Bridge.Adapters.Slack;

namespace Osvi.Bridge.Tests.Slack;

public sealed class SlackSignatureVerifierTests
{
    // Slack's worked example from "Verifying requests from Slack" (docs.slack.dev / api.slack.com).
    private const string DocSecret = "8f742231b10e8888abcd99yyyzzz85a5";
    private const string DocTimestamp = "1531420618";
    private const string DocBody =
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    private const string DocSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"type":"event_callback","event":{"type":"message"}}""");

    private static (SlackSignatureVerifier Verifier, FakeTimeProvider Time) Create(string secret = "test-secret", long now = 1_700_000_000)
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(now));
        return (new SlackSignatureVerifier(secret, time), time);
    }

    [Fact]
    public void Accepts_slacks_documented_example()
    {
        var (verifier, _) = Create(DocSecret, long.Parse(DocTimestamp, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(DocSignature, verifier.Sign(DocTimestamp, Encoding.UTF8.GetBytes(DocBody)));
        Assert.Equal(SlackSignatureVerdict.Valid, verifier.Verify(DocTimestamp, DocSignature, Encoding.UTF8.GetBytes(DocBody)));
    }

    [Fact]
    public void Accepts_a_good_signature()
    {
        var (verifier, _) = Create();
        var signature = verifier.Sign("1700000000", Body);
        Assert.Equal(SlackSignatureVerdict.Valid, verifier.Verify("1700000000", signature, Body));
    }

    [Fact]
    public void Refuses_a_signature_made_with_another_secret()
    {
        var (verifier, _) = Create();
        var (other, _) = Create("another-secret");
        Assert.Equal(SlackSignatureVerdict.Mismatch, verifier.Verify("1700000000", other.Sign("1700000000", Body), Body));
    }

    [Fact]
    public void Refuses_a_tampered_body()
    {
        var (verifier, _) = Create();
        var signature = verifier.Sign("1700000000", Body);
        var tampered = Body.ToArray();
        tampered[^2] = (byte)'X';
        Assert.Equal(SlackSignatureVerdict.Mismatch, verifier.Verify("1700000000", signature, tampered));
    }

    [Theory]
    [InlineData(-301)]
    [InlineData(301)]
    [InlineData(-86_400)]
    public void Refuses_stale_and_future_timestamps(int offsetSeconds)
    {
        var (verifier, _) = Create();
        var timestamp = (1_700_000_000 + offsetSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(SlackSignatureVerdict.StaleTimestamp, verifier.Verify(timestamp, verifier.Sign(timestamp, Body), Body));
    }

    [Theory]
    [InlineData(-300)]
    [InlineData(300)]
    public void Accepts_timestamps_within_five_minutes(int offsetSeconds)
    {
        var (verifier, _) = Create();
        var timestamp = (1_700_000_000 + offsetSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(SlackSignatureVerdict.Valid, verifier.Verify(timestamp, verifier.Sign(timestamp, Body), Body));
    }

    [Theory]
    [InlineData(null, "v0=abc")]
    [InlineData("", "v0=abc")]
    [InlineData("1700000000", null)]
    [InlineData("1700000000", "")]
    [InlineData("not-a-number", "v0=abc")]
    public void Refuses_missing_or_malformed_headers(string? timestamp, string? signature)
    {
        var (verifier, _) = Create();
        Assert.Equal(SlackSignatureVerdict.MissingHeaders, verifier.Verify(timestamp, signature, Body));
    }

    [Fact]
    public void Refuses_a_truncated_signature()
    {
        var (verifier, _) = Create();
        var signature = verifier.Sign("1700000000", Body);
        Assert.Equal(SlackSignatureVerdict.Mismatch, verifier.Verify("1700000000", signature[..^2], Body));
    }

    [Fact]
    public void The_headers_alone_refuse_missing_malformed_and_stale_requests_and_pass_plausible_ones()
    {
        var (verifier, time) = Create();
        var now = time.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var stale = (time.GetUtcNow().ToUnixTimeSeconds() - 301).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var shaped = "v0=" + new string('a', 64);

        Assert.Equal(SlackSignatureVerdict.MissingHeaders, verifier.CheckHeaders(null, shaped));
        Assert.Equal(SlackSignatureVerdict.MissingHeaders, verifier.CheckHeaders(now, ""));
        Assert.Equal(SlackSignatureVerdict.Mismatch, verifier.CheckHeaders(now, "v1=" + new string('a', 64)));
        Assert.Equal(SlackSignatureVerdict.Mismatch, verifier.CheckHeaders(now, "v0=abc"));
        Assert.Equal(SlackSignatureVerdict.StaleTimestamp, verifier.CheckHeaders(stale, shaped));
        Assert.Equal(SlackSignatureVerdict.Valid, verifier.CheckHeaders(now, shaped));
    }
}
