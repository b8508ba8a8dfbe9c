using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Osvi.Bridge.Benchmarks;

/// <summary>
/// The least any bridge could do, as its own process: long-poll getUpdates, forward each text to
/// OSVI's send_message and post the answer with sendMessage. No Redis, no sessions, no de-duplication,
/// no formatting, no pacing, no logs. Driven by the same fakes at the same rate, its added latency is
/// the floor of this harness on this machine at that moment: what no bridge could go below here.
/// Started as <c>dotnet Osvi.Bridge.Benchmarks.dll --floor-relay</c> with the bridge's environment.
/// </summary>
internal static class FloorRelay
{
    public const string Argument = "--floor-relay";

    private static readonly MediaTypeHeaderValue Json = new("application/json");

    public static async Task<int> RunAsync()
    {
        using var stopping = new CancellationTokenSource();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => stopping.Cancel();
        var telegram = Required("Telegram__ApiBaseUrl").TrimEnd('/') + "/bot" + Required("Telegram__BotToken") + "/";
        var osvi = Required("Osvi__BaseUrl").TrimEnd('/') + "/chat_messages/send_message";
        var token = Required("Osvi__ApiToken");

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(Required("ASPNETCORE_URLS"));
        await using var app = builder.Build();
        app.MapGet("/readyz", static context => context.Response.WriteAsync("ok", context.RequestAborted));
        await app.StartAsync(stopping.Token);

        using var http = new HttpClient(new SocketsHttpHandler()) { Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Add("API-Token", token);
        long offset = 0;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                using var poll = new StringContent(string.Create(CultureInfo.InvariantCulture, $$"""{"offset":{{offset}},"timeout":30}"""), Encoding.UTF8, Json);
                using var response = await http.PostAsync(telegram + "getUpdates", poll, stopping.Token);
                using var updates = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(stopping.Token), cancellationToken: stopping.Token);
                foreach (var update in updates.RootElement.GetProperty("result").EnumerateArray())
                {
                    offset = update.GetProperty("update_id").GetInt64() + 1;
                    if (update.TryGetProperty("message", out var message) && message.TryGetProperty("text", out var text))
                    {
                        var chat = message.GetProperty("chat").GetProperty("id").GetInt64();
                        _ = RelayAsync(http, osvi, telegram, chat, text.GetString() ?? "", stopping.Token);
                    }
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
            }
            catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException)
            {
                await Console.Error.WriteLineAsync($"poll failed: {ex.Message}");
                await Task.Delay(100, CancellationToken.None);
            }
        }
        return 0;
    }

    private static async Task RelayAsync(HttpClient http, string osvi, string telegram, long chat, string text, CancellationToken cancellationToken)
    {
        try
        {
            using var ask = new StringContent(JsonSerializer.Serialize(new Dictionary<string, string> { ["chat_session_id"] = "floor", ["message"] = text }), Encoding.UTF8, Json);
            using var answered = await http.PostAsync(osvi, ask, cancellationToken);
            using var answer = await JsonDocument.ParseAsync(await answered.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            var reply = answer.RootElement.GetProperty("data").GetProperty("response").GetString() ?? "";
            using var send = new StringContent(JsonSerializer.Serialize(new Dictionary<string, object> { ["chat_id"] = chat, ["text"] = reply }), Encoding.UTF8, Json);
            using var sent = await http.PostAsync(telegram + "sendMessage", send, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException or OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"relay failed: {ex.Message}");
        }
    }

    private static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : throw new InvalidOperationException($"{name} is not set");
}
