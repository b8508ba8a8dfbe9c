using System.Globalization;

namespace Osvi.Bridge.Benchmarks;

/// <summary>The targets, judged against what the scenarios measured.</summary>
internal static class TargetEvaluator
{
    public const double AddedP99LimitMs = 5;
    public const double WallToIdealLimit = 1.15;
    public const double PeakRssLimitMb = 150;
    public const double SecondReplicaGainLimit = 1.6;

    /// <summary>Growth of idle RSS per 1,000 more conversations that still counts as "not growing".</summary>
    public const double IdleGrowthLimitMbPer1000 = 1.0;

    public static IReadOnlyList<TargetResult> Evaluate(IReadOnlyList<ScenarioResult> all)
    {
        // The floor relay is not the bridge: it is shown for comparison and never judged.
        var results = all.Where(r => !r.Floor).ToList();
        var targets = new List<TargetResult>();
        // Judged on the steady-rate run. In the burst, every update is handed out at once, 100 per
        // getUpdates, so a message's added latency is mostly its wait behind the burst's earlier
        // messages: that run measures throughput (msg/s) and is reported, not judged here.
        // With several steady runs, the median run is judged and every run's p99 is shown beside it.
        var steady = results.Where(r => r.Group == "a" && r.Arrival == nameof(Arrival.Steady)).OrderBy(r => r.AddedLatency.P99).ToList();
        if (steady.Count > 0)
        {
            var median = steady[(steady.Count - 1) / 2];
            var measured = steady.Count == 1 ? Ms(median.AddedLatency.P99)
                : F($"{median.AddedLatency.P99:0.00} ms (median of {steady.Count} runs: ") + string.Join(" / ", steady.Select(r => F($"{r.AddedLatency.P99:0.00}"))) + ")";
            targets.Add(new TargetResult("added latency p99", steady.Count == 1 ? median.Id : "a-steady", measured, $"≤ {AddedP99LimitMs} ms",
                steady.All(r => r.Failure is null && r.AddedLatency.Count > 0) && median.AddedLatency.P99 <= AddedP99LimitMs));
        }
        foreach (var r in results.Where(r => r.Group is "b" or "c"))
        {
            targets.Add(new TargetResult("wall time / ideal", r.Id,
                r.WallToIdeal is { } ratio ? F($"{ratio:0.000} ({r.WallSeconds:0.00} s / {r.IdealSeconds:0.00} s)") : "n/a",
                $"≤ {WallToIdealLimit}", r.Failure is null && r.WallToIdeal is { } x && x <= WallToIdealLimit));
        }
        foreach (var r in results.Where(r => r.Group == "b"))
        {
            targets.Add(new TargetResult("peak RSS", r.Id, F($"{r.PeakRssMb:0.0} MB"), $"≤ {PeakRssLimitMb} MB", r.PeakRssMb <= PeakRssLimitMb));
        }
        if (results.FirstOrDefault(r => r.Id == "e1") is { } one && results.FirstOrDefault(r => r.Id == "e2") is { } two && one.MessagesPerSecond > 0)
        {
            var gain = two.MessagesPerSecond / one.MessagesPerSecond;
            targets.Add(new TargetResult("two replicas' throughput / one replica's", "e2 / e1",
                F($"{gain:0.00} ({two.MessagesPerSecond:0} / {one.MessagesPerSecond:0} msg/s)"), $"≥ {SecondReplicaGainLimit}",
                one.Failure is null && two.Failure is null && gain >= SecondReplicaGainLimit));
        }
        foreach (var r in results.Where(r => r.Group == "a" && r.Arrival == nameof(Arrival.Burst)))
        {
            targets.Add(new TargetResult("burst throughput", r.Id, F($"{r.MessagesPerSecond:0} msg/s"), "≥ 2000 msg/s", r.Failure is null && r.MessagesPerSecond >= 2000));
        }
        foreach (var r in results)
        {
            targets.Add(new TargetResult("lost / duplicated / out of order / errors", r.Id,
                F($"{r.Lost} / {r.Duplicated} / {r.OutOfOrder} / {r.Errors}"), "0 / 0 / 0 / 0",
                r.Failure is null && r.Lost == 0 && r.Duplicated == 0 && r.OutOfOrder == 0 && r.Errors == 0));
        }
        foreach (var r in results.Where(r => r.Memory.Count >= 2))
        {
            var growth = IdleGrowthPer1000(r);
            targets.Add(new TargetResult("idle RSS growth per 1,000 conversations", r.Id,
                F($"{growth:0.00} MB ({r.Memory[0].IdleConversations}: {r.Memory[0].RssMb:0.0} MB → {r.Memory[^1].IdleConversations}: {r.Memory[^1].RssMb:0.0} MB)"),
                $"≤ {IdleGrowthLimitMbPer1000} MB", growth <= IdleGrowthLimitMbPer1000));
            if (IdleHeapGrowthPer1000(r) is { } heap)
            {
                // The live managed heap after a full GC: what idle conversations keep alive, free of GC timing.
                targets.Add(new TargetResult("idle live-heap growth per 1,000 conversations", r.Id,
                    F($"{heap:0.00} MB ({r.Memory[0].IdleConversations}: {r.Memory[0].GcHeapMb:0.0} MB → {r.Memory[^1].IdleConversations}: {r.Memory[^1].GcHeapMb:0.0} MB)"),
                    $"≤ {IdleGrowthLimitMbPer1000} MB", heap <= IdleGrowthLimitMbPer1000));
            }
        }
        return targets;
    }

    public static double IdleGrowthPer1000(ScenarioResult r)
    {
        var first = r.Memory[0];
        var last = r.Memory[^1];
        var more = last.IdleConversations - first.IdleConversations;
        return more <= 0 ? 0 : Math.Round((last.RssMb - first.RssMb) / more * 1000, 2);
    }

    public static double? IdleHeapGrowthPer1000(ScenarioResult r)
    {
        var first = r.Memory[0];
        var last = r.Memory[^1];
        var more = last.IdleConversations - first.IdleConversations;
        return more <= 0 || first.GcHeapMb is not { } from || last.GcHeapMb is not { } to ? null : Math.Round((to - from) / more * 1000, 2);
    }

    private static string Ms(double value) => F($"{value:0.00} ms");

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
