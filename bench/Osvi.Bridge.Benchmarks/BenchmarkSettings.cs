using System.Globalization;

namespace Osvi.Bridge.Benchmarks;

/// <summary>The command line: <c>[--quick] [--scenario a|b|c|d|e|f|s]… [--output dir] [--bridge dir] [--rate n] [--env KEY=VALUE]… [--keep-logs]</c>.</summary>
internal sealed record BenchmarkSettings(bool Quick, IReadOnlySet<string> Scenarios, string? Output, string? Bridge, double SteadyRate, bool KeepLogs,
    IReadOnlyDictionary<string, string> BridgeEnvironment, double SlackLatencyMs = 100)
{
    public const string Usage = """
        Osvi.Bridge load benchmark
          dotnet run -c Release --project bench/Osvi.Bridge.Benchmarks -- [options]
        options:
          --quick              smaller N (a smoke run, under a minute)
          --scenario a|b|c|d|e|f|s run only these (repeat, or comma-separate); default a-f; e = one vs two replicas; f = first message after a start; s = Slack
          --slack-latency <ms> Web API latency of the fake Slack in scenario s (default 100)
          --output <dir>       where latest.md and latest.json go (default bench/results)
          --bridge <dir>       use an already published bridge (contains Osvi.Bridge.dll) instead of publishing
          --rate <n>           messages per second of the steady-rate run of scenario a (default 500)
          --env KEY=VALUE      one more environment variable for the bridge (repeat), e.g. a runtime knob to compare
          --keep-logs          keep the bridge logs and per-message timings (printed path) instead of deleting them
        """;

    public static BenchmarkSettings? Parse(IReadOnlyList<string> args, TextWriter error)
    {
        var quick = false;
        var keepLogs = false;
        var scenarios = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        string? output = null, bridge = null;
        var rate = 500.0;
        var slackLatency = 100.0;
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            try
            {
                switch (args[i])
                {
                    case "--quick":
                        quick = true;
                        break;
                    case "--keep-logs":
                        keepLogs = true;
                        break;
                    case "--scenario":
                        foreach (var s in Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                        {
                            if (s is not ("a" or "b" or "c" or "d" or "e" or "f" or "s"))
                            {
                                throw new ArgumentException($"unknown scenario {s} (a, b, c, d, e, f or s)");
                            }
                            scenarios.Add(s);
                        }
                        break;
                    case "--slack-latency":
                        slackLatency = double.Parse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture);
                        if (slackLatency is < 0 or > 10_000)
                        {
                            throw new ArgumentException("--slack-latency must be between 0 and 10000 ms");
                        }
                        break;
                    case "--output":
                        output = Value();
                        break;
                    case "--bridge":
                        bridge = Value();
                        break;
                    case "--rate":
                        rate = double.Parse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture);
                        if (rate is < 1 or > 100_000)
                        {
                            throw new ArgumentException("--rate must be between 1 and 100000");
                        }
                        break;
                    case "--env":
                        var pair = Value();
                        var equals = pair.IndexOf('=', StringComparison.Ordinal);
                        if (equals <= 0)
                        {
                            throw new ArgumentException($"--env needs KEY=VALUE, got {pair}");
                        }
                        environment[pair[..equals]] = pair[(equals + 1)..];
                        break;
                    case "-h" or "--help":
                        error.WriteLine(Usage);
                        return null;
                    default:
                        throw new ArgumentException($"unknown option {args[i]}");
                }
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException)
            {
                error.WriteLine(ex.Message);
                error.WriteLine(Usage);
                return null;
            }
        }
        if (scenarios.Count == 0)
        {
            scenarios.UnionWith(["a", "b", "c", "d", "e", "f"]);
        }
        return new BenchmarkSettings(quick, scenarios, output, bridge, rate, keepLogs, environment, slackLatency);
    }
}
