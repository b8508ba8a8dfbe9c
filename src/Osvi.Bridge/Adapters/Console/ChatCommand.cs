using Osvi.Bridge.Dispatching;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Osvi;

namespace Osvi.Bridge.Adapters.Console;

/// <summary>
/// <c>Osvi.Bridge chat</c>: an interactive conversation with the configured agent through the same
/// inbox, relay and session store as the worker, so an operator can try token and agent first.
/// It opens no HTTP listener (so it runs beside a worker, also inside its container), checks the
/// token before the first prompt, keeps stdout for the conversation (warnings go to stderr, one line
/// each) and leaves at once with exit code 0 on Ctrl+C, Ctrl+D or <c>/quit</c>.
/// </summary>
public static class ChatCommand
{
    public static async Task<int> RunAsync(string[] args, TextReader input, TextWriter output, TextWriter? errors = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        errors ??= System.Console.Error;
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = BridgeApp.ContentRoot() });
        var problems = ConfigurationCheck.FindProblems(builder.Configuration, requireChannel: false);
        if (problems.Count > 0)
        {
            throw ConfigurationCheck.ToException(problems);
        }
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new OneLineLoggerProvider(errors));
        // After the Logging section of appsettings.json, whose Information default would win otherwise.
        builder.Services.PostConfigure<LoggerFilterOptions>(o =>
        {
            o.Rules.Clear();
            o.MinLevel = LogLevel.Warning;
        });
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        // This process alone can show the replies: a worker on the same Redis must not take these messages.
        builder.Services.AddInMemoryInbox();
        builder.Services.AddBridgeCore(builder.Configuration);
        builder.Services.AddSingleton<IReplySender>(new ConsoleReplySender(output));
        builder.Services.AddSingleton(new CheckCommandOptions(CreateSession: false));
        builder.Services.AddSingleton<OsviDependencyCheck>();

        using var app = builder.Build();
        BridgeApp.ValidateConfiguration(app.Services, requireChannel: false);

        // Ctrl+C before the host (and its console lifetime) runs, during the token check, leaves too.
        using var leaving = new CancellationTokenSource();
        using var interrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGINT, context =>
            {
                context.Cancel = true;
                leaving.Cancel();
            });

        // The token first: a wrong one should be said now, not after the operator typed a question.
        using (var limit = CancellationTokenSource.CreateLinkedTokenSource(leaving.Token))
        {
            limit.CancelAfter(TimeSpan.FromSeconds(30));
            DependencyCheckResult verdict;
            try
            {
                verdict = await app.Services.GetRequiredService<OsviDependencyCheck>().RunAsync(limit.Token);
            }
            catch (OperationCanceledException) when (leaving.IsCancellationRequested)
            {
                return BridgeProgram.ExitOk;
            }
            if (leaving.IsCancellationRequested)
            {
                return BridgeProgram.ExitOk;
            }
            if (!verdict.Ok)
            {
                await errors.WriteLineAsync("osvi: " + verdict.Detail);
                return verdict.Refused ? BridgeProgram.ExitConfiguration : BridgeProgram.ExitFailure;
            }
        }

        await app.StartAsync();
        using var stoppingOrLeaving = CancellationTokenSource.CreateLinkedTokenSource(
            app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping, leaving.Token);
        var stopping = stoppingOrLeaving.Token;
        var inbox = app.Services.GetRequiredService<IInbox>();
        var osvi = app.Services.GetRequiredService<IOptions<OsviOptions>>().Value;
        var user = string.IsNullOrWhiteSpace(Environment.UserName) ? "operator" : Environment.UserName;
        var conversation = ConversationKey.Create(ConsoleReplySender.PlatformName, user);

        await output.WriteLineAsync($"Chatting with agent {osvi.AgentUuid} at {osvi.BaseUrl} as '{user}' (conversation {conversation}).");
        await output.WriteLineAsync("Type a message and press Enter. /reset starts over, /quit, Ctrl+D or Ctrl+C leaves.");
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                await output.WriteAsync("you> ");
                await output.FlushAsync(stopping);
                // A console read ignores cancellation once it blocks; waiting on it from outside lets
                // Ctrl+C (which stops the host) end the command without another Enter.
                var line = await Task.Run(input.ReadLine, CancellationToken.None).WaitAsync(stopping);
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
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            await output.WriteLineAsync();
        }

        // Leaving is immediate: an answer still in flight is abandoned, not waited for.
        using var now = new CancellationTokenSource();
        await now.CancelAsync();
        await app.StopAsync(stopping.IsCancellationRequested ? now.Token : CancellationToken.None);
        return BridgeProgram.ExitOk;
    }
}
