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
    string? Failure);

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
