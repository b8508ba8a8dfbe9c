using System.Diagnostics;
using System.Globalization;
using Osvi.Bridge.Benchmarks;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

if (args is [FloorRelay.Argument])
{
    return await FloorRelay.RunAsync();
}

var settings = BenchmarkSettings.Parse(args, Console.Error);
if (settings is null)
{
    return 64;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C: stop cleanly (every process we started is killed on the way out).
    e.Cancel = true;
    cancel.Cancel();
};

var started = Stopwatch.GetTimestamp();
var startedAt = DateTimeOffset.UtcNow;
var root = BridgePublisher.FindRepositoryRoot();
var output = Path.GetFullPath(settings.Output ?? Path.Combine(root, "bench", "results"));
var work = Path.Combine(Path.GetTempPath(), $"osvi-bridge-bench-{Environment.ProcessId}");
Directory.CreateDirectory(work);
var exitCode = 1;
try
{
    var bridge = settings.Bridge is { } given ? Path.GetFullPath(given) : Path.Combine(work, "bridge");
    if (settings.Bridge is null)
    {
        await BridgePublisher.PublishAsync(root, bridge, Console.Out, cancel.Token);
    }

    var machine = MachineInfo.Current();
    var pacing = PacingLimits.Benchmark;
    Console.WriteLine($"Machine: {machine}");
    var runner = new ScenarioRunner(bridge, work, pacing, settings.BridgeEnvironment, settings.Quick, Console.Out);
    var results = new List<ScenarioResult>();
    var slackPassed = true;
    if (settings.Scenarios.Contains("s"))
    {
        var messages = settings.Quick ? 300 : 1000;
        Console.WriteLine($"Scenario s: {messages} Slack DMs from new users, Socket Mode and Events API, Web API latency {settings.SlackLatencyMs:0} ms");
        var slack = new List<SlackScenarioResult>();
        foreach (var eventsApi in new[] { false, true })
        {
            slack.Add(await SlackScenario.RunAsync(bridge, work, settings.BridgeEnvironment, messages, TimeSpan.FromMilliseconds(settings.SlackLatencyMs),
                eventsApi, Console.Out, cancel.Token));
        }
        var slackCommand = "dotnet run -c Release --project bench/Osvi.Bridge.Benchmarks -- " + string.Join(' ', args);
        var markdown = SlackScenario.Markdown(slack, slackCommand.TrimEnd(), startedAt, machine.ToString());
        Console.WriteLine(markdown);
        await SlackScenario.WriteAsync(slack, markdown, output);
        Console.WriteLine($"Written {Path.Combine(output, "slack-latest.md")} and slack-latest.json");
        slackPassed = slack.All(r => r.Passed);
    }
    var coldStartPassed = true;
    if (settings.Scenarios.Contains("f"))
    {
        var rounds = settings.Quick ? 3 : 7;
        Console.WriteLine($"Scenario f: the first message after /readyz, {rounds} fresh bridge processes");
        var coldStart = await ColdStartScenario.RunAsync(bridge, work, settings.BridgeEnvironment, rounds, Console.Out, cancel.Token);
        var coldStartCommand = "dotnet run -c Release --project bench/Osvi.Bridge.Benchmarks -- " + string.Join(' ', args);
        var markdown = ColdStartScenario.Markdown(coldStart, coldStartCommand.TrimEnd(), startedAt, machine.ToString());
        Console.WriteLine(markdown);
        await ColdStartScenario.WriteAsync(coldStart, markdown, output);
        Console.WriteLine($"Written {Path.Combine(output, "cold-start-latest.md")} and cold-start-latest.json");
        coldStartPassed = coldStart.Passed;
    }
    if (!settings.Scenarios.Overlaps(["a", "b", "c", "d", "e"]))
    {
        exitCode = slackPassed && coldStartPassed ? 0 : 3;
        return exitCode;
    }
    foreach (var scenario in ScenarioDefinition.All(settings.Quick, settings.SteadyRate).Where(s => settings.Scenarios.Contains(s.Group)))
    {
        Console.WriteLine($"Scenario {scenario.Id}: {scenario.Conversations} chats × {scenario.MessagesPerConversation}, agent {scenario.AgentLatency.TotalMilliseconds} ms, C={scenario.MaxConcurrency}");
        var result = await runner.RunAsync(scenario, cancel.Token);
        results.Add(result);
        Console.WriteLine($"  wall {result.WallSeconds:0.00} s (ideal {result.IdealSeconds:0.00} s), {result.MessagesPerSecond:0} msg/s, added p99 {result.AddedLatency.P99:0.00} ms, " +
                          $"peak RSS {result.PeakRssMb:0} MB, lost/dup/order/err {result.Lost}/{result.Duplicated}/{result.OutOfOrder}/{result.Errors}");
    }

    var command = "dotnet run -c Release --project bench/Osvi.Bridge.Benchmarks --" + (args.Length == 0 ? "" : " " + string.Join(' ', args));
    var report = new BenchmarkReport(startedAt, command.TrimEnd('-', ' '), settings.Quick, machine, pacing, results,
        TargetEvaluator.Evaluate(results), Math.Round(Stopwatch.GetElapsedTime(started).TotalSeconds, 1));
    Console.WriteLine();
    Console.WriteLine(ReportWriter.Markdown(report));
    await ReportWriter.WriteAsync(report, output, CancellationToken.None);
    Console.WriteLine($"Written {Path.Combine(output, "latest.md")} and latest.json");
    exitCode = report.Targets.All(t => t.Passed) && slackPassed && coldStartPassed ? 0 : 3;
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    Console.Error.WriteLine("Cancelled.");
    exitCode = 130;
}
finally
{
    ChildProcesses.KillAll();
    if (settings.KeepLogs)
    {
        Console.WriteLine($"Bridge logs kept in {work}");
    }
    else
    {
        try
        {
            Directory.Delete(work, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
return exitCode;
