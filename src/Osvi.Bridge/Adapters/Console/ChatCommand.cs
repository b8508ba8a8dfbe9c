using Microsoft.Extensions.Options;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Osvi;

namespace Osvi.Bridge.Adapters.Console;

/// <summary>
/// <c>Osvi.Bridge chat</c>: an interactive conversation with the configured agent through the same
/// inbox, relay and session store as the worker, so an operator can try token and agent first.
/// </summary>
public static class ChatCommand
{
    public static async Task<int> RunAsync(string[] args, TextReader input, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        var builder = BridgeApp.CreateBuilder(args);
        builder.Logging.ClearProviders();
        // Keep the terminal for the conversation: only warnings and errors, on stderr.
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddInMemoryInbox();
        builder.Services.AddBridgeCore(builder.Configuration);
        builder.Services.AddSingleton<IReplySender>(new ConsoleReplySender(output));

        using var app = builder.Build();
        BridgeApp.ValidateConfiguration(app.Services, requireChannel: false);
        await app.StartAsync();
        var stopping = app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var inbox = app.Services.GetRequiredService<IInbox>();
        var osvi = app.Services.GetRequiredService<IOptions<OsviOptions>>().Value;
        var user = string.IsNullOrWhiteSpace(Environment.UserName) ? "operator" : Environment.UserName;
        var conversation = ConversationKey.Create(ConsoleReplySender.PlatformName, user);

        await output.WriteLineAsync($"Chatting with agent {osvi.AgentUuid} at {osvi.BaseUrl} as '{user}' (conversation {conversation}).");
        await output.WriteLineAsync("Type a message and press Enter. /reset starts over, /quit or Ctrl+D leaves.");
        while (!stopping.IsCancellationRequested)
        {
            await output.WriteAsync("you> ");
            await output.FlushAsync(stopping);
            string? line;
            try
            {
                line = await input.ReadLineAsync(stopping);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            if (line is null || line.Trim() is "/quit" or "/exit")
            {
                break;
            }
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            var message = new InboundMessage(ConsoleReplySender.PlatformName, conversation, Guid.NewGuid().ToString("N"),
                user, user, line, new ReplyTarget(user));
            var handled = app.Services.GetRequiredService<HandledMessages>().Watch(message);
            await inbox.AcceptAsync(message, stopping);
            await handled.WaitAsync(stopping);
        }

        await app.StopAsync(CancellationToken.None);
        return 0;
    }
}
