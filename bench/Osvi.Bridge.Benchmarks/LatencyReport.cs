namespace Osvi.Bridge.Benchmarks;

/// <summary>Percentiles of a set of durations, in milliseconds (nearest-rank).</summary>
internal sealed record LatencyReport(int Count, double Mean, double P50, double P95, double P99, double Max)
{
    public static LatencyReport Empty { get; } = new(0, 0, 0, 0, 0, 0);

    public static LatencyReport Of(IEnumerable<TimeSpan> durations)
    {
        var sorted = durations.Select(d => d.TotalMilliseconds).Order().ToArray();
        if (sorted.Length == 0)
        {
            return Empty;
        }
        return new LatencyReport(sorted.Length, sorted.Average(), Rank(sorted, 0.50), Rank(sorted, 0.95), Rank(sorted, 0.99), sorted[^1]);
    }

    private static double Rank(double[] sorted, double quantile) =>
        sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Length) - 1, 0, sorted.Length - 1)];
}
