using Osvi.Bridge.Adapters.Console;
using Osvi.Bridge.IntegrationTests.Infrastructure;

namespace Osvi.Bridge.IntegrationTests.Core;

/// <summary><c>Osvi.Bridge chat</c>: the operator's terminal conversation through the real relay.</summary>
public sealed class ChatCommandTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncLifetime
{
    private FakeOsviServer _osvi = null!;

    public async Task InitializeAsync() => _osvi = await FakeOsviServer.StartAsync();

    public async Task DisposeAsync() => await _osvi.DisposeAsync();

    [Fact]
    public async Task Operator_chats_with_the_agent_from_the_terminal_and_can_start_over()
    {
        var prefix = RedisServerFixture.NewKeyPrefix();
        var args = BridgeHost.BaseSettings(_osvi, redis, prefix).Where(p => p.Key != "urls")
            .Select(p => $"--{p.Key}={p.Value}").ToArray();
        var input = new StringReader("hello\n\n/reset\nagain\n/quit\nnever sent\n");
        var output = new StringWriter();

        var code = await ChatCommand.RunAsync(args, input, output);

        var text = output.ToString();
        Assert.Equal(0, code);
        Assert.Contains("Chatting with agent agent_Test_0001-abc", text, StringComparison.Ordinal);
        Assert.Contains("agent> Hi! I'm the test agent.", text, StringComparison.Ordinal);
        Assert.Contains("agent> echo: hello", text, StringComparison.Ordinal);
        Assert.Contains("agent> Started a new conversation.", text, StringComparison.Ordinal);
        Assert.Contains("agent> echo: again", text, StringComparison.Ordinal);
        Assert.Equal(["hello", "again"], _osvi.Messages.Select(m => m.Text));
        Assert.Equal(2, _osvi.StartedSessions.Count);
        var key = $"{prefix}session:console:{Environment.UserName}";
        Assert.True(await redis.Connection!.GetDatabase().KeyExistsAsync(key));
    }
}
