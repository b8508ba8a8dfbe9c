using System.Net;
using System.Text;

namespace Osvi.Bridge.Hosting;

/// <summary>
/// An outside service answered from memory for the start-up rehearsal: each request's body is read, as
/// the real transport would, and answered with the JSON <c>answer</c> gives for it after
/// <see cref="RehearsalPipeline.AnswerDelay"/>, as from a server nearby.
/// </summary>
internal sealed class CannedApi(TimeProvider time, Func<HttpRequestMessage, (HttpStatusCode Status, string Json)> answer) : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await Task.Delay(RehearsalPipeline.AnswerDelay, time, cancellationToken);
        if (request.Content is not null)
        {
            _ = await request.Content.ReadAsByteArrayAsync(cancellationToken);
        }
        var (status, json) = answer(request);
        return new HttpResponseMessage(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
    }
}
