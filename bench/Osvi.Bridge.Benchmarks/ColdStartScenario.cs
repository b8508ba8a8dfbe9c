using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Osvi.Bridge.Benchmarks;

/// <summary>
/// Scenario f: the first message after a deploy. Each round starts a fresh bridge process on the one
/// Redis (as a rolling update does) and waits for <c>/readyz</c> to turn 200. Then messages from new
/// users (each starts a session), one at a time: the first, then the later ones, each released after the
/// same quiet spell as the first (<see cref="QuietBeforeMessage"/>), and last the same number back to
/// back (each the moment the previous reply arrived), reported only. Target: over the rounds, the
/// median first message adds no more than the median of the paced later messages' p95.
/// </summary>
internal static class ColdStartScenario
{
    private const int LaterMessages = 40;

    /// <summary>
    /// How long the bridge is left quiet before each measured message. The first message cannot come
    /// sooner than one /readyz poll after the bridge became ready, and 20 ms of quiet alone adds ~3 ms
    /// to a message on a 2-core VM (threads and vCPUs asleep). So the later messages it is compared with
    /// wait as long; back-to-back messages find everything awake and are reported apart.
    /// </summary>
    private static readonly TimeSpan QuietBeforeMessage = BridgeProcess.ReadyPollInterval;

    public static async Task<ColdStartResult> RunAsync(string bridgeDirectory, string workDirectory, IReadOnlyDictionary<string, string> extraEnvironment,
        int rounds, TextWriter progress, CancellationToken cancellationToken)
    {
        // One Redis and one Telegram for all rounds, as in a deploy: update ids go on, and the offset the
        // previous process stored stays valid.
        await using var redis = await RedisProcess.StartAsync(cancellationToken);
        var ledger = Ledger(0);
        await using var osvi = await FakeOsviApi.StartAsync(ledger, TimeSpan.Zero, cancellationToken);
        await using var telegram = await FakeTelegramApi.StartAsync(ledger, cancellationToken);
        var results = new List<ColdStartRound>();
        // Round f0 is not counted: it warms the stand-ins (their first requests run cold code in this
        // process, ~4 ms on each call of the first message), as the real Telegram and OSVI always are.
        for (var round = 0; round <= rounds; round++)
        {
            if (round > 0)
            {
                ledger = Ledger(round);
                osvi.Ledger = ledger;
                telegram.Begin(ledger);
            }
            var environment = ScenarioRunner.TelegramBridgeEnvironment(redis, osvi, telegram, PacingLimits.Benchmark);
            foreach (var (key, value) in extraEnvironment)
            {
                environment[key] = value;
            }
            await using var bridge = BridgeProcess.Start(bridgeDirectory, environment, Path.Combine(workDirectory, $"bridge-f{round}.log"));
            var ready = await bridge.WaitReadyAsync(TimeSpan.FromSeconds(60), cancellationToken);
            for (var message = 1; message <= ledger.Total; message++)
            {
                if (message <= 1 + LaterMessages)
                {
                    await Task.Delay(QuietBeforeMessage, cancellationToken);
                }
                telegram.Release(message);
                await WaitAsync(() => ledger.DeliveredCount >= message, bridge, $"reply {message}", cancellationToken);
            }
            var first = ledger.TimesOf(0).Added.TotalMilliseconds;
            var later = LatencyReport.Of(Enumerable.Range(1, LaterMessages).Select(i => ledger.TimesOf(i).Added));
            var backToBack = LatencyReport.Of(Enumerable.Range(1 + LaterMessages, LaterMessages).Select(i => ledger.TimesOf(i).Added));
            // A rolling update stops the old process gracefully: it gives back the Telegram poller's lease.
            await bridge.TerminateAsync(TimeSpan.FromSeconds(30), cancellationToken);
            var (warnings, errors, _) = bridge.CountProblemsInLog(0);
            if (round > 0)
            {
                results.Add(new ColdStartRound(round, Math.Round(ready.TotalSeconds, 2), Math.Round(first, 2), later, backToBack, warnings, errors));
            }
            static string Split(MessageTimes t) => string.Create(CultureInfo.InvariantCulture,
                $"in {Stopwatch.GetElapsedTime(t.HandedOut, t.AgentReceived).TotalMilliseconds:0.0} + out {Stopwatch.GetElapsedTime(t.AgentAnswered, t.Delivered).TotalMilliseconds:0.0}");
            var slowest = Enumerable.Range(1, LaterMessages).MaxBy(i => ledger.TimesOf(i).Added);
            progress.WriteLine($"  [f{round}]{(round == 0 ? " (warms the stand-ins, not counted)" : "")} first {Split(ledger.TimesOf(0))}; slowest later (#{slowest + 1}) {Split(ledger.TimesOf(slowest))}");
            progress.WriteLine($"  [f{round}] ready {ready.TotalSeconds:0.00} s; first message added {first:0.00} ms; later p50 / p95 / max {later.P50:0.00} / {later.P95:0.00} / {later.Max:0.00} ms; back to back p50 / p95 {backToBack.P50:0.00} / {backToBack.P95:0.00} ms");
        }
        var firstMedian = Median(results.Select(r => r.FirstAddedMs));
        var laterP95Median = Median(results.Select(r => r.Later.P95));
        return new ColdStartResult(results, firstMedian, Median(results.Select(r => r.Later.P50)), laterP95Median,
            Median(results.Select(r => r.BackToBack.P50)), Median(results.Select(r => r.BackToBack.P95)), firstMedian <= laterP95Median);
    }

    public static string Markdown(ColdStartResult result, string command, DateTimeOffset at, string machine)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"Measured {at:yyyy-MM-dd HH:mm} UTC with `{command}`. Machine: {machine}.");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture,
            $"| round | start → ready s | first message after ready: added ms | later messages, each after {QuietBeforeMessage.TotalMilliseconds:0} ms quiet: added p50 / p95 / max ms | later messages back to back: p50 / p95 ms | warn / err |");
        md.AppendLine("|---|---|---|---|---|---|");
        foreach (var r in result.Rounds)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| f{r.Round} | {r.ReadySeconds:0.00} | {r.FirstAddedMs:0.00} | {r.Later.P50:0.00} / {r.Later.P95:0.00} / {r.Later.Max:0.00} | {r.BackToBack.P50:0.00} / {r.BackToBack.P95:0.00} | {r.Warnings} / {r.Errors} |");
        }
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture,
            $"Median over rounds: first message {result.FirstAddedMedianMs:0.00} ms; later (paced) p50 {result.LaterP50MedianMs:0.00} ms, p95 {result.LaterP95MedianMs:0.00} ms; " +
            $"back to back p50 {result.BackToBackP50MedianMs:0.00} ms, p95 {result.BackToBackP95MedianMs:0.00} ms. " +
            $"Target (first ≤ paced later p95): **{(result.Passed ? "met" : "MISSED")}**.");
        md.AppendLine();
        md.AppendLine("Added latency is what the bridge adds to a message: getUpdates handing it out → the agent asked, plus the agent's answer → sendMessage received. " +
                      $"Each round is a fresh bridge process. Every message is from a new user. The first is released {QuietBeforeMessage.TotalMilliseconds:0} ms after /readyz first answers 200 " +
                      $"(the bench polls /readyz every {BridgeProcess.ReadyPollInterval.TotalMilliseconds:0} ms), then {LaterMessages} more, each {QuietBeforeMessage.TotalMilliseconds:0} ms after the previous reply, " +
                      $"then {LaterMessages} back to back (each as soon as the previous reply arrived; reported, not compared: they find the bridge's threads awake). " +
                      "A round f0 before them warms the stand-ins and is not counted.");
        return md.ToString();
    }

    public static async Task WriteAsync(ColdStartResult result, string markdown, string output)
    {
        Directory.CreateDirectory(output);
        await File.WriteAllTextAsync(Path.Combine(output, "cold-start-latest.md"), markdown);
        await File.WriteAllTextAsync(Path.Combine(output, "cold-start-latest.json"),
            JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
    }

    /// <summary>New users every round: every measured message starts an OSVI session.</summary>
    private static MessageLedger Ledger(int round) => new(1 + (2 * LaterMessages), 1, MessageLedger.MeasuredUsers + (round * 1_000));

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted[(sorted.Length - 1) / 2];
    }

    private static async Task WaitAsync(Func<bool> condition, BridgeProcess bridge, string what, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (bridge.HasExited || Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException($"Gave up waiting for {what}:\n{bridge.LogTail(5)}");
            }
            await Task.Delay(1, cancellationToken);
        }
    }
}

/// <summary>One fresh process of scenario f.</summary>
internal sealed record ColdStartRound(int Round, double ReadySeconds, double FirstAddedMs, LatencyReport Later, LatencyReport BackToBack, int Warnings, int Errors);

/// <summary>The outcome of scenario f.</summary>
internal sealed record ColdStartResult(IReadOnlyList<ColdStartRound> Rounds, double FirstAddedMedianMs, double LaterP50MedianMs, double LaterP95MedianMs,
    double BackToBackP50MedianMs, double BackToBackP95MedianMs, bool Passed);
