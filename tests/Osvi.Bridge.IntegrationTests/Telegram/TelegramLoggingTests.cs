using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.IntegrationTests.Infrastructure;
using static Osvi.Bridge.IntegrationTests.Telegram.FakeTelegramServer;

namespace Osvi.Bridge.IntegrationTests.Telegram;

/// <summary>What the Telegram channel writes to the logs, at the most verbose level.</summary>
public sealed class TelegramLoggingTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task Logs_never_contain_the_bot_token_nor_message_text_above_debug()
    {
        await using var osvi = await FakeOsviServer.StartAsync();
        await using var telegram = await FakeTelegramServer.StartAsync();
        var logs = new CapturingLoggerProvider();
        var settings = TelegramChannelTests.TelegramSettings(osvi, telegram, redis);
        settings["Logging:LogLevel:Default"] = "Trace";
        settings["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace";
        telegram.FailNextSends(ScriptedError.CantParseEntities, new ScriptedError(500, "Internal Server Error"), ScriptedError.Blocked);
        telegram.ConflictNextPolls(1);

        await using (var app = BridgeApp.CreateWorker([], b =>
        {
            b.Configuration.AddInMemoryCollection(settings);
            b.Host.UseServiceProviderFactory(new LoggerAddingFactory(logs));
        }))
        {
            await app.StartAsync();
            telegram.EnqueueMessage(Private(70, "my very private question"));
            telegram.EnqueueMessage(Private(70, "second private question"));
            await telegram.WaitForTextAsync(70, "echo: second private question");
            await app.StopAsync();
        }

        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Debug && e.Text.StartsWith("Osvi.Bridge.Adapters.Telegram.TelegramUpdateIngress", StringComparison.Ordinal));
        Assert.Contains(logs.Entries, e => e.Text.Contains("409 Conflict", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Entries, e => e.Text.Contains(Token, StringComparison.Ordinal) || e.Text.Contains("TEST-token_abcdef", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Entries, e => e.Level > LogLevel.Debug && e.Text.Contains("private question", StringComparison.Ordinal));
    }

    private sealed class LoggerAddingFactory(ILoggerProvider provider) : IServiceProviderFactory<IServiceCollection>
    {
        // Added at build time: the worker clears the providers configured before it.
        public IServiceCollection CreateBuilder(IServiceCollection services) => services.AddSingleton(provider);

        public IServiceProvider CreateServiceProvider(IServiceCollection containerBuilder) => containerBuilder.BuildServiceProvider();
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public ConcurrentQueue<(LogLevel Level, string Text)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Entries.Enqueue((logLevel, $"{category}: {formatter(state, exception)} {exception}"));
        }
    }
}
