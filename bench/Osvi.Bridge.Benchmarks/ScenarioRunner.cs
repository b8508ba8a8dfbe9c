using System.Diagnostics;
using System.Globalization;

namespace Osvi.Bridge.Benchmarks;

/// <summary>
/// Runs one scenario end to end: a fresh redis-server, the two fakes, the bridge as its own process;
/// waits for /readyz, feeds the updates phase by phase, waits for every reply, and measures from
/// outside the bridge. Everything it started is stopped when it returns or throws.
/// </summary>
internal sealed class ScenarioRunner(string bridgeDirectory, string workDirectory, PacingLimits pacing,
    IReadOnlyDictionary<string, string> extraEnvironment, bool quick, TextWriter progress)
{
    private static readonly TimeSpan ReadyLimit = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Warm-up chats × messages, on chat ids apart from the measured ones: a long-running worker is
    /// JIT-warm. First a burst, then the same number fed at a steady rate, so that the code paths of
    /// both arrival modes (big and small getUpdates batches) are compiled and tiered up before measuring.
    /// </summary>
    private const int WarmUpChats = 500;
    private const int QuickWarmUpChats = 150;
    private const int WarmUpMessages = 2;
    private const double WarmUpRate = 500;

    public async Task<ScenarioResult> RunAsync(ScenarioDefinition scenario, CancellationToken cancellationToken)
    {
        var ledger = new MessageLedger(scenario.Conversations, scenario.MessagesPerConversation);
        var warmUpChats = quick ? QuickWarmUpChats : WarmUpChats;
        var warmUp = new MessageLedger(warmUpChats, WarmUpMessages, MessageLedger.WarmUpUsers);
        await using var redis = await RedisProcess.StartAsync(cancellationToken);
        await using var osvi = await FakeOsviApi.StartAsync(warmUp, TimeSpan.Zero, cancellationToken);
        await using var telegram = await FakeTelegramApi.StartAsync(warmUp, cancellationToken);
        var logPath = Path.Combine(workDirectory, $"bridge-{scenario.Id}.log");
        await using var bridge = BridgeProcess.Start(bridgeDirectory, Environment(scenario, redis, osvi, telegram), logPath, scenario.Floor);
        await using var rss = new RssSampler(bridge.Pid);
        var ready = await bridge.WaitReadyAsync(ReadyLimit, cancellationToken);
        await using var second = scenario.Replicas > 1
            ? BridgeProcess.Start(bridgeDirectory, Environment(scenario, redis, osvi, telegram), Path.Combine(workDirectory, $"bridge-{scenario.Id}-2.log"))
            : null;
        if (second is not null)
        {
            await second.WaitReadyAsync(ReadyLimit, cancellationToken);
            await WaitForBalancedPartitionsAsync(redis, scenario.Replicas, cancellationToken);
        }

        // Warm-up: a long-running worker has its code JIT-compiled (tiered up) and its connections open.
        telegram.Release(warmUp.Total);
        await WarmUpAsync(warmUp, bridge, cancellationToken);
        var steadyWarmUp = new MessageLedger(warmUpChats, WarmUpMessages, MessageLedger.WarmUpUsers + WarmUpChats);
        osvi.Ledger = steadyWarmUp;
        telegram.Begin(steadyWarmUp);
        var warmUpFeed = FeedSteadilyAsync(telegram, 0, steadyWarmUp.Total, WarmUpRate, cancellationToken);
        await WarmUpAsync(steadyWarmUp, bridge, cancellationToken);
        await warmUpFeed;
        await Task.Delay(quick ? TimeSpan.FromMilliseconds(300) : TimeSpan.FromSeconds(1), cancellationToken);
        var machineSpeed = MachineSpeed.SortMs();
        osvi.Ledger = ledger;
        osvi.Latency = scenario.AgentLatency;
        telegram.Begin(ledger);
        var baselineKb = rss.CurrentKb;
        var commandsBefore = await redis.TotalCommandsAsync(cancellationToken);
        var logStart = bridge.LogLength;
        var before = new FakeCounts(osvi.SessionsStarted, osvi.MessagesReceived, telegram.GetUpdatesCalls, telegram.ChatActionCalls);
        var cpu = new CpuMeter(bridge.Pid, redis.Pid);

        var memory = new List<MemoryCheckpoint>();
        var wall = TimeSpan.Zero;
        var ideal = TimeSpan.Zero;
        var driveStart = Stopwatch.GetTimestamp();
        var switchesBefore = ContextSwitches.Of(bridge.Pid);
        using var stallMonitor = new StallMonitor();
        var gcBefore = GcTotals.Parse(await bridge.MetricsAsync(cancellationToken));
        string? failure = null;
        var previous = 0;
        foreach (var end in scenario.PhaseEnds)
        {
            var phaseIdeal = scenario.IdealBound(previous, end, pacing);
            ideal += phaseIdeal;
            progress.WriteLine($"  [{scenario.Id}] releasing messages {previous + 1}..{end} ({scenario.Arrival}); ideal {phaseIdeal.TotalSeconds:0.00} s");
            var released = Stopwatch.GetTimestamp();
            cpu.Resume();
            using var feeding = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var feeder = scenario.Arrival == Arrival.Burst
                ? Release(telegram, end)
                : FeedSteadilyAsync(telegram, previous, end, scenario.RatePerSecond, feeding.Token);

            var limit = (phaseIdeal * 3) + TimeSpan.FromSeconds(30);
            if (!await WaitForRepliesAsync(ledger, end, limit, bridge, cancellationToken))
            {
                failure = $"phase up to message {end}: only {ledger.DeliveredCount} replies after {limit.TotalSeconds:0} s";
                progress.WriteLine("  " + failure);
            }
            await feeding.CancelAsync();
            await feeder.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            cpu.Pause();
            wall += LastDelivered(ledger, telegram, previous, end, released);

            if (scenario.IdleAfterPhase > TimeSpan.Zero)
            {
                await Task.Delay(scenario.IdleAfterPhase, cancellationToken);
                await FullGarbageCollection.InduceAsync(bridge.Pid, cancellationToken);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                var since = Stopwatch.GetTimestamp() - Stopwatch.Frequency;
                memory.Add(new MemoryCheckpoint(end / scenario.MessagesPerConversation, Mb(rss.MedianSinceKb(since)),
                    GcHeapMb(await bridge.MetricsAsync(cancellationToken))));
                progress.WriteLine($"  [{scenario.Id}] {end} idle conversations: RSS {memory[^1].RssMb:0.0} MB, GC heap {memory[^1].GcHeapMb:0.0} MB");
            }
            if (failure is not null || bridge.HasExited)
            {
                failure ??= "the bridge exited";
                break;
            }
            previous = end;
        }
        var steadyKb = rss.MedianSinceKb(driveStart);
        // Threads that ended meanwhile take their counts with them: a lower bound, close enough here.
        var switches = ContextSwitches.Of(bridge.Pid) - switchesBefore;
        var stalls = stallMonitor.Stalls;
        // Scenario d induces full collections itself before its memory readings; they are counted too.
        var gc = GcTotals.Parse(await bridge.MetricsAsync(cancellationToken)) - gcBefore;

        await Task.Delay(Grace, cancellationToken);
        await WriteTimesAsync(ledger, Path.Combine(workDirectory, $"messages-{scenario.Id}.csv"), driveStart, cancellationToken);
        // Minus one: our own INFO.
        var commands = await redis.TotalCommandsAsync(cancellationToken) - commandsBefore - 1;
        return Summarize(scenario, ledger, osvi, telegram, before, bridge, logStart, wall, ideal, Mb(baselineKb), Mb(steadyKb), Mb(rss.PeakKb), Mb(rss.PeakAnonKb),
            commands, cpu.Use(ledger.Total), memory, failure) with
            {
                Floor = scenario.Floor,
                ContextSwitchesPerMessage = Math.Round(Math.Max(0, switches) / (double)ledger.Total, 1),
                ReadySeconds = Math.Round(ready.TotalSeconds, 2),
                BridgeGc = gc,
                MachineSortMs = machineSpeed,
                MachineStalls = stalls.Count,
                MachineStallMs = Math.Round(stalls.Sum(s => Stopwatch.GetElapsedTime(s.Start, s.End).TotalMilliseconds), 1),
                AddedOutsideStalls = LatencyReport.Of(Enumerable.Range(0, ledger.Total).Select(ledger.TimesOf)
                    .Where(t => t.Complete && !stalls.Any(s => s.Start < t.Delivered && s.End > t.HandedOut)).Select(t => t.Added)),
            };
    }

    private Dictionary<string, string> Environment(ScenarioDefinition scenario, RedisProcess redis, FakeOsviApi osvi, FakeTelegramApi telegram)
    {
        var environment = BaseEnvironment(scenario, redis, osvi, telegram);
        foreach (var (key, value) in extraEnvironment)
        {
            environment[key] = value;
        }
        return environment;
    }

    /// <summary>Waits until the inbox's 16 partition leases are held by that many replicas (they rebalance after a join).</summary>
    private async Task WaitForBalancedPartitionsAsync(RedisProcess redis, int replicas, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < ReadyLimit)
        {
            var owners = new HashSet<string>(StringComparer.Ordinal);
            var held = 0;
            for (var p = 0; p < 16; p++)
            {
                var owner = await RespClient.CommandAsync(redis.Port, cancellationToken, "GET", $"osvi-bridge:inbox:{{p{p}}}:lease");
                if (owner.Length > 0)
                {
                    owners.Add(owner);
                    held++;
                }
            }
            if (held == 16 && owners.Count == replicas)
            {
                progress.WriteLine($"  partitions shared by {replicas} replicas after {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s");
                return;
            }
            await Task.Delay(100, cancellationToken);
        }
        throw new InvalidOperationException($"the inbox partitions were not shared by {replicas} replicas within {ReadyLimit}");
    }

    private Dictionary<string, string> BaseEnvironment(ScenarioDefinition scenario, RedisProcess redis, FakeOsviApi osvi, FakeTelegramApi telegram)
    {
        var environment = TelegramBridgeEnvironment(redis, osvi, telegram, pacing);
        // Rebalancing after the second replica joins takes up to a lease timeout: keep the run short.
        environment["Inbox__LeaseTimeout"] = scenario.Group == "e" ? "00:00:06" : "00:00:30";
        environment["Bridge__MaxConcurrency"] = scenario.MaxConcurrency.ToString(CultureInfo.InvariantCulture);
        return environment;
    }

    /// <summary>The bridge on the fakes with only Telegram on, pacing raised so that the bridge, not Telegram's limits, is measured.</summary>
    public static Dictionary<string, string> TelegramBridgeEnvironment(RedisProcess redis, FakeOsviApi osvi, FakeTelegramApi telegram, PacingLimits pacing) => new()
    {
        ["Osvi__BaseUrl"] = osvi.BaseUrl,
        ["Osvi__ApiToken"] = FakeOsviApi.Token,
        ["Osvi__AgentUuid"] = FakeOsviApi.Agent,
        ["Redis__ConnectionString"] = redis.ConnectionString,
        ["Telegram__BotToken"] = FakeTelegramApi.Token,
        ["Telegram__ApiBaseUrl"] = telegram.BaseUrl,
        ["Telegram__PerChatRate"] = pacing.PerChatRate.ToString(CultureInfo.InvariantCulture),
        ["Telegram__GroupPerMinute"] = pacing.GroupPerMinute.ToString(CultureInfo.InvariantCulture),
        ["Telegram__GlobalPerSecond"] = pacing.GlobalPerSecond.ToString(CultureInfo.InvariantCulture),
        ["Bridge__SendWelcomeMessage"] = "false",
        // Every message is timed to its own reply: queued follow-ups must not be folded into one turn (c, the ordering scenario, queues 20 per chat).
        ["Bridge__MergeQueuedMessages"] = "false",
        // As the Dockerfile sets it: the image's runtime configuration is what is measured.
        ["DOTNET_GCgen0size"] = "0x400000",
    };

    private static async Task WarmUpAsync(MessageLedger warmUp, BridgeProcess bridge, CancellationToken cancellationToken)
    {
        if (!await WaitForRepliesAsync(warmUp, warmUp.Total, TimeSpan.FromSeconds(60), bridge, cancellationToken))
        {
            throw new InvalidOperationException($"The warm-up got only {warmUp.DeliveredCount} of {warmUp.Total} replies:\n{bridge.LogTail(20)}");
        }
    }

    private static Task Release(FakeTelegramApi telegram, int end)
    {
        telegram.Release(end);
        return Task.CompletedTask;
    }

    /// <summary>Releases updates [from, to) at <paramref name="rate"/> per second, checking every 5 ms.</summary>
    private static async Task FeedSteadilyAsync(FakeTelegramApi telegram, int from, int to, double rate, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        telegram.Release(from + 1);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
        var ticks = (int)((to - from) / rate * 200) + 400;
        for (var i = 0; i < ticks && await timer.WaitForNextTickAsync(cancellationToken); i++)
        {
            var due = from + 1 + (int)(Stopwatch.GetElapsedTime(started).TotalSeconds * rate);
            telegram.Release(Math.Min(to, due));
            if (due >= to)
            {
                return;
            }
        }
        telegram.Release(to);
    }

    private static async Task<bool> WaitForRepliesAsync(MessageLedger ledger, int expected, TimeSpan limit, BridgeProcess bridge, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < limit && !bridge.HasExited)
        {
            if (ledger.DeliveredCount >= expected)
            {
                return true;
            }
            await Task.Delay(10, cancellationToken);
        }
        return ledger.DeliveredCount >= expected;
    }

    /// <summary>From the release of a phase to its last delivered reply.</summary>
    private static TimeSpan LastDelivered(MessageLedger ledger, FakeTelegramApi telegram, int from, int to, long released)
    {
        long last = released;
        for (var position = from; position < to; position++)
        {
            last = Math.Max(last, ledger.TimesOf(telegram.FeedToIndex(position)).Delivered);
        }
        return Stopwatch.GetElapsedTime(released, last);
    }

    private static ScenarioResult Summarize(ScenarioDefinition scenario, MessageLedger ledger, FakeOsviApi osvi, FakeTelegramApi telegram, FakeCounts before,
        BridgeProcess bridge, long logStart, TimeSpan wall, TimeSpan ideal, double baselineMb, double steadyMb, double peakMb, double peakAnonMb, long redisCommands,
        CpuUse cpu, IReadOnlyList<MemoryCheckpoint> memory, string? failure)
    {
        var times = Enumerable.Range(0, ledger.Total).Select(ledger.TimesOf).ToList();
        var complete = times.Where(t => t.Complete).ToList();
        var delivery = ledger.CheckDelivery();
        var extraAgentCalls = times.Sum(t => Math.Max(0, t.AgentCalls - 1));
        var (warnings, errorLogs, problems) = bridge.CountProblemsInLog(logStart);
        var errors = ledger.UnexpectedReplies + ledger.UnexpectedAgentMessages + osvi.Refused + extraAgentCalls + errorLogs;
        return new ScenarioResult(
            scenario.Id, scenario.Group, scenario.Purpose, scenario.Conversations, scenario.MessagesPerConversation,
            scenario.AgentLatency.TotalMilliseconds, scenario.MaxConcurrency, scenario.Arrival.ToString(),
            scenario.Arrival == Arrival.Steady ? scenario.RatePerSecond : null,
            ledger.Total, ledger.DeliveredCount,
            Math.Round(wall.TotalSeconds, 3), Math.Round(ideal.TotalSeconds, 3),
            ideal > TimeSpan.FromMilliseconds(100) ? Math.Round(wall / ideal, 3) : null,
            wall > TimeSpan.Zero ? Math.Round(ledger.DeliveredCount / wall.TotalSeconds, 1) : 0,
            LatencyReport.Of(complete.Select(t => t.Added)),
            LatencyReport.Of(FirstMessages(ledger, first: true).Select(t => t.Added)),
            LatencyReport.Of(FirstMessages(ledger, first: false).Select(t => t.Added)),
            LatencyReport.Of(complete.Select(t => Stopwatch.GetElapsedTime(t.HandedOut, t.AgentReceived))),
            LatencyReport.Of(complete.Select(t => Stopwatch.GetElapsedTime(t.AgentAnswered, t.Delivered))),
            LatencyReport.Of(complete.Select(t => t.EndToEnd)),
            LatencyReport.Of(Turnarounds(ledger)),
            baselineMb, steadyMb, peakMb, peakAnonMb,
            Math.Round(redisCommands / (double)ledger.Total, 2),
            cpu,
            delivery.Lost, delivery.Duplicated, delivery.OutOfOrder, errors, warnings, errorLogs,
            osvi.SessionsStarted - before.Sessions, osvi.MessagesReceived - before.AgentCalls, osvi.PeakConcurrentMessages,
            telegram.GetUpdatesCalls - before.GetUpdates, telegram.ChatActionCalls - before.ChatActions,
            memory, problems, failure);
    }

    /// <summary>Complete messages that were (or were not) their conversation's first: the first also starts an OSVI session.</summary>
    private static IEnumerable<MessageTimes> FirstMessages(MessageLedger ledger, bool first) =>
        Enumerable.Range(0, ledger.Total)
            .Where(index => (index % ledger.MessagesPerConversation == 0) == first)
            .Select(ledger.TimesOf)
            .Where(t => t.Complete);

    /// <summary>
    /// Per conversation, from the reply to message k reaching Telegram (or message k+1 arriving, if later)
    /// to the agent being asked about message k+1: what ordering costs beyond the agent's own time.
    /// </summary>
    private static IEnumerable<TimeSpan> Turnarounds(MessageLedger ledger)
    {
        for (var chat = 0; chat < ledger.Conversations; chat++)
        {
            for (var k = 2; k <= ledger.MessagesPerConversation; k++)
            {
                var previous = ledger.TimesOf(MessageLedger.IndexOf(chat, k - 1, ledger.MessagesPerConversation));
                var next = ledger.TimesOf(MessageLedger.IndexOf(chat, k, ledger.MessagesPerConversation));
                if (previous.Delivered != 0 && next.HandedOut != 0 && next.AgentReceived != 0)
                {
                    yield return Stopwatch.GetElapsedTime(Math.Max(previous.Delivered, next.HandedOut), next.AgentReceived);
                }
            }
        }
    }

    /// <summary>
    /// Every message's timestamps in ms since the drive began (kept with --keep-logs): where in the run a tail sits,
    /// and whether it follows the message's position in its conversation.
    /// </summary>
    private static async Task WriteTimesAsync(MessageLedger ledger, string path, long origin, CancellationToken cancellationToken)
    {
        var lines = new List<string>(ledger.Total + 1) { "chat,k,handed_out_ms,session_requested_ms,session_answered_ms,agent_received_ms,agent_answered_ms,delivered_ms,added_ms" };
        double Ms(long t) => t == 0 ? double.NaN : Stopwatch.GetElapsedTime(origin, t).TotalMilliseconds;
        for (var index = 0; index < ledger.Total; index++)
        {
            var t = ledger.TimesOf(index);
            var chat = index / ledger.MessagesPerConversation;
            var k = (index % ledger.MessagesPerConversation) + 1;
            var (requested, answered) = k == 1 ? ledger.SessionTimesOf(chat) : (0, 0);
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"{chat},{k},{Ms(t.HandedOut):0.000},{Ms(requested):0.000},{Ms(answered):0.000},{Ms(t.AgentReceived):0.000},{Ms(t.AgentAnswered):0.000},{Ms(t.Delivered):0.000},{(t.Complete ? t.Added.TotalMilliseconds : double.NaN):0.000}"));
        }
        await File.WriteAllLinesAsync(path, lines, cancellationToken);
    }

    private static double Mb(long kb) => Math.Round(kb / 1024.0, 1);

    /// <summary>Sums the runtime's <c>dotnet_gc_last_collection_heap_size_bytes</c> series from /metrics.</summary>
    private static double? GcHeapMb(string metrics)
    {
        double? total = null;
        foreach (var line in metrics.Split('\n'))
        {
            if (!line.StartsWith("dotnet_gc_last_collection_heap_size_bytes", StringComparison.Ordinal))
            {
                continue;
            }
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2 && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var bytes))
            {
                total = (total ?? 0) + bytes;
            }
        }
        return total is { } b ? Math.Round(b / 1024 / 1024, 1) : null;
    }

    /// <summary>The fakes' counters when measuring began (the warm-up is not counted).</summary>
    private sealed record FakeCounts(int Sessions, int AgentCalls, int GetUpdates, int ChatActions);
}
