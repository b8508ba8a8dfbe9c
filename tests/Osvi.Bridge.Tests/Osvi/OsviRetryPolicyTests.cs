using System.Net;
using Osvi.Bridge.Osvi;
using Polly;
using Polly.Timeout;

namespace Osvi.Bridge.Tests.Osvi;

public sealed class OsviRetryPolicyTests
{
    private static HttpRequestMessage Post(bool retrySafe = false)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "http://127.0.0.1/v1/chat/inbound");
        if (retrySafe)
        {
            request.Options.Set(OsviRetryPolicy.RetrySafe, true);
        }
        return request;
    }

    private static Outcome<HttpResponseMessage> Answer(int status) => Outcome.FromResult(new HttpResponseMessage((HttpStatusCode)status));

    private static Outcome<HttpResponseMessage> Failure(Exception exception) => Outcome.FromException<HttpResponseMessage>(exception);

    [Theory]
    [InlineData(408, true)]
    [InlineData(429, true)]
    [InlineData(500, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(504, false)]
    [InlineData(400, false)]
    [InlineData(404, false)]
    [InlineData(422, false)]
    [InlineData(200, false)]
    public void A_message_post_is_retried_only_on_answers_after_which_OSVI_is_not_still_working(int status, bool retried)
    {
        using var request = Post();
        Assert.Equal(retried, OsviRetryPolicy.ShouldRetry(Answer(status), request));
    }

    [Fact]
    public void A_message_post_is_not_retried_after_an_attempt_timeout_or_a_connection_lost_after_sending()
    {
        using var request = Post();
        Assert.False(OsviRetryPolicy.ShouldRetry(Failure(new TimeoutRejectedException()), request));
        Assert.False(OsviRetryPolicy.ShouldRetry(Failure(new HttpRequestException(HttpRequestError.ResponseEnded, "ended")), request));
        Assert.False(OsviRetryPolicy.ShouldRetry(Failure(new HttpRequestException("unknown")), request));
    }

    [Theory]
    [InlineData(HttpRequestError.ConnectionError)]
    [InlineData(HttpRequestError.NameResolutionError)]
    [InlineData(HttpRequestError.SecureConnectionError)]
    public void A_message_post_that_never_left_is_retried(HttpRequestError error)
    {
        using var request = Post();
        Assert.True(OsviRetryPolicy.ShouldRetry(Failure(new HttpRequestException(error, "no connection")), request));
    }

    [Fact]
    public void Reads_and_retry_safe_posts_are_retried_on_every_transient_failure()
    {
        using var get = new HttpRequestMessage(HttpMethod.Get, "http://127.0.0.1/v1/chat/session/active");
        using var close = Post(retrySafe: true);
        foreach (var request in new[] { get, close })
        {
            Assert.True(OsviRetryPolicy.ShouldRetry(Failure(new TimeoutRejectedException()), request));
            Assert.True(OsviRetryPolicy.ShouldRetry(Answer(504), request));
            Assert.True(OsviRetryPolicy.ShouldRetry(Failure(new HttpRequestException(HttpRequestError.ResponseEnded, "ended")), request));
            Assert.False(OsviRetryPolicy.ShouldRetry(Answer(422), request));
        }
    }
}
