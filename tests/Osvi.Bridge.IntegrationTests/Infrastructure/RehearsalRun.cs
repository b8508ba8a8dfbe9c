using Osvi.Bridge.Hosting;

namespace Osvi.Bridge.IntegrationTests.Infrastructure;

/// <summary>Drives one rehearsal message by hand, as the warm-up does, for tests that look at what it leaves in Redis.</summary>
internal static class RehearsalRun
{
    /// <summary>Starts <paramref name="pipeline"/> with <paramref name="channel"/> as its sender and waits until one message from <paramref name="chat"/> is handled.</summary>
    public static async Task OneMessageAsync(RehearsalPipeline pipeline, RecordingChannel channel, string chat)
    {
        var inbox = await pipeline.StartAsync(channel, CancellationToken.None);
        var message = RecordingChannel.Message(chat, "hello");
        var handled = pipeline.Watch(message);
        await inbox.AcceptAsync(message, CancellationToken.None);
        await pipeline.ExpectFinishedAsync(handled, "message", CancellationToken.None);
    }
}
