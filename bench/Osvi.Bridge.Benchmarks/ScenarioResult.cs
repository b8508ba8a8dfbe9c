namespace Osvi.Bridge.Benchmarks;

/// <summary>What one scenario measured. Times in seconds, latencies in ms, memory in MB (MiB).</summary>
internal sealed record ScenarioResult(
    string Id,
    string Group,
    string Purpose,
    int Conversations,
    int MessagesPerConversation,
    double AgentLatencyMs,
    int MaxConcurrency,
    string Arrival,
    double? RatePerSecond,
    int Messages,
    int RepliesMatched,
    double WallSeconds,
    double IdealSeconds,
    double? WallToIdeal,
    double MessagesPerSecond,
    LatencyReport AddedLatency,
    LatencyReport AddedFirstMessages,
    LatencyReport AddedLaterMessages,
    LatencyReport AddedInbound,
    LatencyReport AddedOutbound,
    LatencyReport EndToEnd,
    LatencyReport Turnaround,
    double BaselineRssMb,
    double SteadyRssMb,
    double PeakRssMb,
    double PeakAnonMb,
    double RedisCommandsPerMessage,
    CpuUse Cpu,
    int Lost,
    int Duplicated,
    int OutOfOrder,
    int Errors,
    int BridgeWarningLogs,
    int BridgeErrorLogs,
    int SessionsStarted,
    int AgentCalls,
    int PeakAgentConcurrency,
    int GetUpdatesCalls,
    int ChatActionCalls,
    IReadOnlyList<MemoryCheckpoint> Memory,
    IReadOnlyList<string> BridgeLogProblems,
    string? Failure)
{
    /// <summary>The bridge's context switches per message while measured (idle spells of scenario d included).</summary>
    public double ContextSwitchesPerMessage { get; init; }

    /// <summary>The run had <see cref="FloorRelay"/> in the bridge's place.</summary>
    public bool Floor { get; init; }

    /// <summary>From the bridge process's start to its first <c>/readyz</c> 200.</summary>
    public double ReadySeconds { get; init; }

    /// <summary><see cref="MachineSpeed.SortMs"/> just before measuring: higher means the shared machine was slower.</summary>
    public double MachineSortMs { get; init; }

    /// <summary>Times the benchmark's own 1 ms sleeper woke ≥ 3 ms late while measuring (<see cref="StallMonitor"/>), and their total.</summary>
    public int MachineStalls { get; init; }

    public double MachineStallMs { get; init; }

    /// <summary>Added latency of the messages whose t0..t3 overlapped no machine stall: a diagnostic, never judged.</summary>
    public LatencyReport AddedOutsideStalls { get; init; } = LatencyReport.Empty;

    /// <summary>The bridge's garbage collections while measured, from its own /metrics.</summary>
    public GcTotals BridgeGc { get; init; } = new(0, 0, 0, 0);
}

/// <summary>
/// Garbage collections by highest generation collected and their total pause, from the runtime's
/// <c>dotnet_gc_collections_total</c> and <c>dotnet_gc_pause_time_seconds_total</c> series.
/// </summary>
internal sealed record GcTotals(long Gen0, long Gen1, long Gen2, double PauseMs)
{
    public static GcTotals operator -(GcTotals after, GcTotals before) =>
        new(after.Gen0 - before.Gen0, after.Gen1 - before.Gen1, after.Gen2 - before.Gen2, Math.Round(after.PauseMs - before.PauseMs, 1));

    public static GcTotals Parse(string metrics)
    {
        long gen0 = 0, gen1 = 0, gen2 = 0;
        double pause = 0;
        foreach (var line in metrics.Split('\n'))
        {
            var space = line.LastIndexOf(' ');
            if (space < 0 || !double.TryParse(line.AsSpan(space + 1), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }
            if (line.StartsWith("dotnet_gc_pause_time_seconds_total", StringComparison.Ordinal))
            {
                pause += value * 1000;
            }
            else if (line.StartsWith("dotnet_gc_collections_total", StringComparison.Ordinal))
            {
                if (line.Contains("\"gen0\"", StringComparison.Ordinal))
                {
                    gen0 += (long)value;
                }
                else if (line.Contains("\"gen1\"", StringComparison.Ordinal))
                {
                    gen1 += (long)value;
                }
                else if (line.Contains("\"gen2\"", StringComparison.Ordinal))
                {
                    gen2 += (long)value;
                }
            }
        }
        return new GcTotals(gen0, gen1, gen2, pause);
    }
}

/// <summary>
/// CPU used while messages were in flight (quiet spells excluded): per message in ms, and as a share
/// of the machine's cores (100 % = every core busy) for the bridge, redis-server and the benchmark itself.
/// </summary>
internal sealed record CpuUse(double BridgeMsPerMessage, double RedisMsPerMessage, double DriverMsPerMessage,
    double BridgePercent, double RedisPercent, double DriverPercent);

/// <summary>The bridge's memory after a phase and a quiet spell: every conversation so far is idle.</summary>
internal sealed record MemoryCheckpoint(int IdleConversations, double RssMb, double? GcHeapMb);

/// <summary>One target of the issue, judged.</summary>
internal sealed record TargetResult(string Target, string Scenario, string Measured, string Limit, bool Passed);

internal sealed record BenchmarkReport(
    DateTimeOffset StartedAt,
    string Command,
    bool Quick,
    MachineInfo Machine,
    PacingLimits Pacing,
    IReadOnlyList<ScenarioResult> Scenarios,
    IReadOnlyList<TargetResult> Targets,
    double TotalSeconds);
