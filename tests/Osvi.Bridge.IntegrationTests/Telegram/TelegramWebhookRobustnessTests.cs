using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.IntegrationTests.Infrastructure;

namespace Osvi.Bridge.IntegrationTests.Telegram;

/// <summary>Webhook requests that end badly are the client's problem: one quiet line, never an Error with a stack trace.</summary>
public sealed class TelegramWebhookRobustnessTests
{
    [Fact]
    public async Task A_webhook_body_cut_short_by_the_client_is_logged_once_at_debug_not_as_an_error()
    {
        await using var osvi = await FakeOsviServer.StartAsync();
        await using var telegram = await FakeTelegramServer.StartAsync();
        var logs = new CapturingLoggerProvider();
        var settings = TelegramChannelTests.TelegramSettings(osvi, telegram, redis: null);
        settings["Logging:LogLevel:Default"] = "Debug";
        settings["Telegram:Mode"] = "Webhook";
        settings["Telegram:WebhookUrl"] = "https://bridge.example.com/telegram/webhook";
        settings["Telegram:WebhookSecret"] = "s3cret-Token_1";
        await using var app = BridgeApp.CreateWorker([], b =>
        {
            b.Configuration.AddInMemoryCollection(settings);
            b.Host.UseServiceProviderFactory(new LoggerAddingFactory(logs));
        });
        await app.StartAsync();
        await Eventually.HoldsAsync(() => telegram.CallsTo("setWebhook").Count > 0, "setWebhook");
        var address = new Uri(app.Urls.First());

        using (var client = new TcpClient())
        {
            await client.ConnectAsync(address.Host, address.Port);
            var stream = client.GetStream();
            var head = "POST /telegram/webhook HTTP/1.1\r\nHost: bridge\r\nContent-Type: application/json\r\n" +
                "X-Telegram-Bot-Api-Secret-Token: s3cret-Token_1\r\nContent-Length: 1000\r\n\r\n{\"update_id\":1,";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            await stream.FlushAsync();
            client.Client.Shutdown(SocketShutdown.Send);
            await Eventually.HoldsAsync(() => logs.Entries.Any(e => e.Text.Contains("Telegram webhook", StringComparison.Ordinal)), "the webhook's one line about the cut request");
        }
        await app.StopAsync();

        Assert.Single(logs.Entries, e => e.Text.Contains("Telegram webhook", StringComparison.Ordinal) && e.Level == LogLevel.Debug);
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
    }

    private sealed class LoggerAddingFactory(ILoggerProvider provider) : IServiceProviderFactory<IServiceCollection>
    {
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
