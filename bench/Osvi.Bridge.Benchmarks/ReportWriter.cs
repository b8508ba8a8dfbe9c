using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Osvi.Bridge.Benchmarks;

/// <summary>Writes the report as a markdown table (stdout and latest.md) and as JSON (latest.json).</summary>
internal static class ReportWriter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static string Markdown(BenchmarkReport report)
    {
        var md = new StringBuilder();
        Line(md, $"Measured {report.StartedAt:yyyy-MM-dd HH:mm} UTC{(report.Quick ? " (--quick)" : "")} in {report.TotalSeconds:0} s with `{report.Command}`.");
        Line(md, $"Machine: {report.Machine}. Bridge, redis-server and the benchmark (fakes and driver) share these cores.");
        Line(md, $"Telegram pacing used (raised to the options' maxima to measure the bridge, not Telegram's limits): " +
                 $"`Telegram__PerChatRate={report.Pacing.PerChatRate}`, `Telegram__GroupPerMinute={report.Pacing.GroupPerMinute}`, " +
                 $"`Telegram__GlobalPerSecond={report.Pacing.GlobalPerSecond}` (production defaults {PacingLimits.Production.PerChatRate}/s, " +
                 $"{PacingLimits.Production.GroupPerMinute}/min, {PacingLimits.Production.GlobalPerSecond}/s); `Bridge__SendWelcomeMessage=false`.");
        md.AppendLine();
        md.AppendLine("| scenario | chats × msgs | agent | C | arrival | wall s | ideal s | wall/ideal | msg/s | added p50 / p95 / p99 / max ms | RSS base / steady / peak MB (peak anon) | redis cmd/msg | lost / dup / order / err |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in report.Scenarios)
        {
            var arrival = r.RatePerSecond is { } rate ? $"steady {rate:0}/s" : r.Arrival.ToLowerInvariant();
            Line(md, $"| {r.Id} ({r.Purpose}) | {r.Conversations:N0} × {r.MessagesPerConversation} | {r.AgentLatencyMs:0} ms | {r.MaxConcurrency} | {arrival} " +
                     $"| {r.WallSeconds:0.00} | {r.IdealSeconds:0.00} | {(r.WallToIdeal is { } x ? x.ToString("0.000", CultureInfo.InvariantCulture) : "n/a")} " +
                     $"| {r.MessagesPerSecond:0} | {r.AddedLatency.P50:0.00} / {r.AddedLatency.P95:0.00} / {r.AddedLatency.P99:0.00} / {r.AddedLatency.Max:0.0} " +
                     $"| {r.BaselineRssMb:0} / {r.SteadyRssMb:0} / {r.PeakRssMb:0} ({r.PeakAnonMb:0}) | {r.RedisCommandsPerMessage:0.00} " +
                     $"| {r.Lost} / {r.Duplicated} / {r.OutOfOrder} / {r.Errors} |");
        }
        md.AppendLine();
        md.AppendLine("Added latency = (t1 − t0) + (t3 − t2): t0 the update leaves the fake getUpdates, t1 the fake OSVI receives send_message, " +
                      "t2 it answers, t3 the fake Telegram receives sendMessage; one Stopwatch in the benchmark process. " +
                      "Wall = release of the updates → last reply. Ideal = max(M·L, ⌈N·M / C⌉·L, pacing) (steady: also the feed's own span + L). " +
                      "In burst scenarios t1 − t0 also holds the wait for a free worker and for the conversation's earlier messages; " +
                      "turnaround (below) is the ordering cost alone: reply k at Telegram (or message k+1 handed out, if later) → agent asked about k+1.");
        md.AppendLine();
        md.AppendLine("| scenario | inbound t1−t0 p50 / p99 ms | outbound t3−t2 p50 / p99 ms | added p50 / p99 ms: first message (starts a session) · later messages | end to end p50 / p99 / max ms | turnaround p50 / p99 ms | CPU ms/msg bridge / redis / driver | CPU % of machine bridge / redis / driver | bridge context switches / msg | bridge GCs gen0 / 1 / 2, paused ms | start → ready s | machine check ms (sort 1M ints; lower = faster) | machine stalls ≥ 3 ms: count, total ms | added p99 ms of messages clear of stalls (count) | sessions | agent calls | peak agent concurrency | getUpdates | typing | bridge warn / error logs |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in report.Scenarios)
        {
            Line(md, $"| {r.Id} | {r.AddedInbound.P50:0.00} / {r.AddedInbound.P99:0.00} | {r.AddedOutbound.P50:0.00} / {r.AddedOutbound.P99:0.00} " +
                     $"| {r.AddedFirstMessages.P50:0.00} / {r.AddedFirstMessages.P99:0.00} · {(r.AddedLaterMessages.Count == 0 ? "n/a" : $"{r.AddedLaterMessages.P50:0.00} / {r.AddedLaterMessages.P99:0.00}")} " +
                     $"| {r.EndToEnd.P50:0.0} / {r.EndToEnd.P99:0.0} / {r.EndToEnd.Max:0.0} " +
                     $"| {(r.Turnaround.Count == 0 ? "n/a" : $"{r.Turnaround.P50:0.00} / {r.Turnaround.P99:0.00}")} " +
                     $"| {r.Cpu.BridgeMsPerMessage:0.00} / {r.Cpu.RedisMsPerMessage:0.00} / {r.Cpu.DriverMsPerMessage:0.00} " +
                     $"| {r.Cpu.BridgePercent:0} / {r.Cpu.RedisPercent:0} / {r.Cpu.DriverPercent:0} " +
                     $"| {r.ContextSwitchesPerMessage:0.0} | {r.BridgeGc.Gen0} / {r.BridgeGc.Gen1} / {r.BridgeGc.Gen2}, {r.BridgeGc.PauseMs:0.0} | {r.ReadySeconds:0.00} | {r.MachineSortMs:0.0} | {r.MachineStalls}, {r.MachineStallMs:0} | {(r.AddedOutsideStalls.Count == 0 ? "n/a" : F($"{r.AddedOutsideStalls.P99:0.00} ({r.AddedOutsideStalls.Count})"))} | {r.SessionsStarted} | {r.AgentCalls} | {r.PeakAgentConcurrency} " +
                     $"| {r.GetUpdatesCalls} | {r.ChatActionCalls} | {r.BridgeWarningLogs} / {r.BridgeErrorLogs} |");
        }
        var memory = report.Scenarios.Where(r => r.Memory.Count > 0).ToList();
        if (memory.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("| scenario | idle conversations | RSS MB (median of 1 s, after the quiet spell) | GC heap MB (bridge /metrics) |");
            md.AppendLine("|---|---|---|---|");
            foreach (var r in memory)
            {
                Line(md, $"| {r.Id} | baseline (0) | {r.BaselineRssMb:0.0} | |");
                foreach (var m in r.Memory)
                {
                    Line(md, $"| {r.Id} | {m.IdleConversations:N0} | {m.RssMb:0.0} | {(m.GcHeapMb is { } g ? g.ToString("0.0", CultureInfo.InvariantCulture) : "n/a")} |");
                }
                Line(md, $"| {r.Id} | growth per 1,000 idle conversations | {TargetEvaluator.IdleGrowthPer1000(r):0.00} | |");
            }
        }
        md.AppendLine();
        md.AppendLine("| target | scenario | measured | limit | result |");
        md.AppendLine("|---|---|---|---|---|");
        foreach (var t in report.Targets)
        {
            Line(md, $"| {t.Target} | {t.Scenario} | {t.Measured} | {t.Limit} | {(t.Passed ? "PASS" : "**FAIL**")} |");
        }
        if (report.Scenarios.FirstOrDefault(r => r.Floor) is { } floor)
        {
            md.AppendLine();
            Line(md, $"{floor.Id} is the harness's floor, not the bridge: a minimal relay (the benchmark itself, `--floor-relay`) in the bridge's place, " +
                     "as its own process, fed by the same fakes at the same rate: long-poll, forward to OSVI, post the answer; no Redis, sessions, " +
                     $"formatting, pacing or logs. Its added latency (p50 {floor.AddedLatency.P50:0.00}, p99 {floor.AddedLatency.P99:0.00} ms) is what " +
                     "the two shared cores and the loopback HTTP hops cost any relay at that moment; it is not judged.");
        }
        if (report.Scenarios.Any(r => r.Group == "a" && r.Arrival == nameof(Arrival.Burst)))
        {
            md.AppendLine();
            md.AppendLine("The added-latency target is judged on a-steady (with several runs, on the median run). In a-burst all the updates are there at once and leave the fake " +
                          "getUpdates 100 at a time, so a message's added latency is mostly its wait behind earlier messages of the burst: " +
                          "that run measures throughput (msg/s).");
        }
        foreach (var r in report.Scenarios.Where(r => r.BridgeLogProblems.Count > 0))
        {
            md.AppendLine();
            Line(md, $"{r.Id}: the bridge logged {r.BridgeWarningLogs} warning(s) and {r.BridgeErrorLogs} error(s) while measured, e.g.:");
            md.AppendLine();
            foreach (var line in r.BridgeLogProblems)
            {
                Line(md, $"    {line}");
            }
        }
        foreach (var r in report.Scenarios.Where(r => r.Failure is not null))
        {
            md.AppendLine();
            Line(md, $"{r.Id} did not finish: {r.Failure}");
        }
        return md.ToString();
    }

    public static async Task WriteAsync(BenchmarkReport report, string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "latest.md"), "# Osvi.Bridge load benchmark\n\n" + Markdown(report), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "latest.json"), JsonSerializer.Serialize(report, Json), cancellationToken);
    }

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>The process runs with the invariant culture (see Program), so numbers print with a dot.</summary>
    private static void Line(StringBuilder md, string text) => md.AppendLine(text);
}
