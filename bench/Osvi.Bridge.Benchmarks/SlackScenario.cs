using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Osvi.Bridge.Benchmarks;

/// <summary>
/// Scenario s: the Slack path (Socket Mode, then the Events API) at production latency. The fake Slack answers every Web
/// API call after <c>--slack-latency</c> (default 100 ms); after a warm-up, a burst of DMs from new
/// users (each one needs users.info and a new session) is pushed over the bridge's Socket Mode
/// connections as fast as the driver can, and each envelope's ack delay (sent → ack received, both
/// stamped by the fake) is measured, with the time until every DM was answered. Targets: ack p99 ≤
/// 100 ms, max ≤ 1 s, nothing lost or doubled.
/// </summary>
internal static class SlackScenario
{
    public const double AckP99TargetMs = 100;
    public const double AckMaxTargetMs = 1000;

    private const int WarmUpDms = 300;

    public const string SigningSecret = "bench-signing-secret";

    /// <summary>Slack posts Events API deliveries over many connections at once; this many here.</summary>
    private const int EventsApiConnections = 64;

    public static async Task<SlackScenarioResult> RunAsync(string bridgeDirectory, string workDirectory, IReadOnlyDictionary<string, string> extraEnvironment,
        int messages, TimeSpan apiLatency, bool eventsApi, TextWriter progress, CancellationToken cancellationToken)
    {
        var id = eventsApi ? "s-events" : "s-socket";
        var warmUp = new MessageLedger(WarmUpDms, 1, MessageLedger.WarmUpUsers);
        await using var redis = await RedisProcess.StartAsync(cancellationToken);
        await using var osvi = await FakeOsviApi.StartAsync(warmUp, TimeSpan.Zero, cancellationToken);
        await using var slack = await FakeSlackApi.StartAsync(warmUp, apiLatency, cancellationToken);
        var environment = new Dictionary<string, string>
        {
            ["Osvi__BaseUrl"] = osvi.BaseUrl,
            ["Osvi__ApiToken"] = FakeOsviApi.Token,
            ["Osvi__AgentUuid"] = FakeOsviApi.Agent,
            ["Redis__ConnectionString"] = redis.ConnectionString,
            ["Telegram__BotToken"] = "",
            ["Slack__BotToken"] = FakeSlackApi.BotToken,
            ["Slack__AppToken"] = eventsApi ? "" : FakeSlackApi.AppToken,
            ["Slack__SigningSecret"] = SigningSecret,
            ["Slack__ApiBaseUrl"] = slack.ApiBaseUrl,
            // One DM channel per user: pacing (1/s per channel, production default) never binds here.
            ["Bridge__SendWelcomeMessage"] = "false",
        };
        foreach (var (key, value) in extraEnvironment)
        {
            environment[key] = value;
        }
        await using var bridge = BridgeProcess.Start(bridgeDirectory, environment, Path.Combine(workDirectory, $"bridge-{id}.log"));
        await bridge.WaitReadyAsync(TimeSpan.FromSeconds(60), cancellationToken);
        var connectionsLimit = Stopwatch.GetTimestamp();
        while (!eventsApi && slack.OpenSockets < 2 && Stopwatch.GetElapsedTime(connectionsLimit) < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20, cancellationToken);
        }
        using var events = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = EventsApiConnections })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{bridge.Port}/"),
            Timeout = TimeSpan.FromSeconds(30),
        };
        var push = eventsApi
            ? (Func<int, int, Task>)((from, to) => slack.PostEventsAsync(events, from, to, SigningSecret, EventsApiConnections, cancellationToken))
            : (from, to) => PushAllAsync(slack, from, to, cancellationToken);

        progress.WriteLine($"  [{id}] warm-up: {WarmUpDms} DMs from new users, Web API latency {apiLatency.TotalMilliseconds:0} ms" +
                           (eventsApi ? ", Events API" : $", {slack.OpenSockets} Socket Mode connection(s)"));
        slack.Begin(warmUp, WarmUpDms);
        await push(0, WarmUpDms);
        await WaitAsync(() => warmUp.DeliveredCount >= WarmUpDms, TimeSpan.FromSeconds(60), bridge, "the warm-up replies", cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);

        var ledger = new MessageLedger(messages, 1);
        osvi.Ledger = ledger;
        slack.Begin(ledger, messages);
        var usersInfoBefore = slack.UsersInfoCalls;
        var postsBefore = slack.PostCalls;
        var updatesBefore = slack.UpdateCalls;
        var logStart = bridge.LogLength;
        progress.WriteLine($"  [{id}] burst: {messages} DMs from new users");
        var started = Stopwatch.GetTimestamp();
        await push(0, messages);
        var pushed = Stopwatch.GetElapsedTime(started);
        await WaitAsync(() => slack.AckCount >= messages, TimeSpan.FromSeconds(60), bridge, "every ack", cancellationToken);
        await WaitAsync(() => ledger.DeliveredCount >= messages, TimeSpan.FromSeconds(120), bridge, "every reply", cancellationToken);
        var wall = Stopwatch.GetElapsedTime(started);
        await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);

        var acks = LatencyReport.Of(slack.AckDelays());
        var delivery = ledger.CheckDelivery();
        var endToEnd = LatencyReport.Of(Enumerable.Range(0, messages).Select(i => ledger.TimesOf(i)).Where(t => t.HandedOut != 0 && t.Delivered != 0).Select(t => t.EndToEnd));
        var (warnings, errors, _) = bridge.CountProblemsInLog(logStart);
        return new SlackScenarioResult(
            id, messages, apiLatency.TotalMilliseconds, Math.Round(pushed.TotalMilliseconds, 1), acks, Math.Round(wall.TotalSeconds, 2),
            Math.Round(messages / wall.TotalSeconds, 0), endToEnd, delivery.Lost, delivery.Duplicated,
            slack.UsersInfoCalls - usersInfoBefore, slack.PostCalls - postsBefore, slack.UpdateCalls - updatesBefore, warnings, errors,
            acks.P99 <= AckP99TargetMs && acks.Max <= AckMaxTargetMs && delivery.Lost == 0 && delivery.Duplicated == 0);
    }

    public static string Markdown(IReadOnlyList<SlackScenarioResult> results, string command, DateTimeOffset at, string machine)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"Measured {at:yyyy-MM-dd HH:mm} UTC with `{command}`. Machine: {machine}.");
        md.AppendLine();
        md.AppendLine("| scenario | DMs (new users) | Web API latency | pushed in | ack p50 / p95 / p99 / max ms | all answered after | msg/s | end-to-end p50 / p99 ms | users.info / posts / updates | lost / dup | warn / err | targets |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
            $"| {r.Id} ({(r.Id == "s-events" ? "Events API, 64 connections" : "Socket Mode, 2 connections")}, burst) | {r.Messages:N0} | {r.WebApiLatencyMs:0} ms | {r.PushedMs:0} ms | {r.AckDelay.P50:0.0} / {r.AckDelay.P95:0.0} / {r.AckDelay.P99:0.0} / {r.AckDelay.Max:0.0} " +
            $"| {r.WallSeconds:0.00} s | {r.MessagesPerSecond:0} | {r.EndToEnd.P50:0} / {r.EndToEnd.P99:0} | {r.UsersInfoCalls} / {r.Posts} / {r.Updates} | {r.Lost} / {r.Duplicated} " +
            $"| {r.Warnings} / {r.Errors} | {(r.Passed ? "met" : "MISSED")} (ack p99 ≤ {AckP99TargetMs:0} ms, max ≤ {AckMaxTargetMs:0} ms) |");
        }
        md.AppendLine();
        md.AppendLine("Ack delay: in Socket Mode the fake Slack stamps an envelope when it writes it to a connection and again when the bridge's ack for it arrives; " +
                      "over the Events API, from just before the signed POST is sent to its response (at most 64 requests in flight, as Slack spreads deliveries over connections). " +
                      "Every Web API call (auth.test, apps.connections.open, users.info, chat.postMessage, …) is answered after the Web API latency; the agent answers at once.");
        return md.ToString();
    }

    public static async Task WriteAsync(IReadOnlyList<SlackScenarioResult> result, string markdown, string output)
    {
        Directory.CreateDirectory(output);
        await File.WriteAllTextAsync(Path.Combine(output, "slack-latest.md"), markdown);
        await File.WriteAllTextAsync(Path.Combine(output, "slack-latest.json"),
            JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
    }

    private static async Task PushAllAsync(FakeSlackApi slack, int from, int to, CancellationToken cancellationToken)
    {
        for (var i = from; i < to; i++)
        {
            await slack.PushDmAsync(i, cancellationToken);
        }
    }

    private static async Task WaitAsync(Func<bool> condition, TimeSpan limit, BridgeProcess bridge, string what, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (bridge.HasExited || Stopwatch.GetElapsedTime(started) > limit)
            {
                throw new InvalidOperationException($"Gave up waiting for {what}:\n{bridge.LogTail(3)}");
            }
            await Task.Delay(5, cancellationToken);
        }
    }
}

/// <summary>The outcome of scenario s.</summary>
internal sealed record SlackScenarioResult(
    string Id, int Messages, double WebApiLatencyMs, double PushedMs, LatencyReport AckDelay, double WallSeconds, double MessagesPerSecond,
    LatencyReport EndToEnd, int Lost, int Duplicated, int UsersInfoCalls, int Posts, int Updates, int Warnings, int Errors, bool Passed);
