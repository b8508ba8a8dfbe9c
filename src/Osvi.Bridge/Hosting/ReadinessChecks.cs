using Microsoft.Extensions.Diagnostics.HealthChecks;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Osvi;
using StackExchange.Redis;

namespace Osvi.Bridge.Hosting;

/// <summary><c>/readyz</c>: Redis answers a PING (when configured).</summary>
public sealed class RedisReadinessCheck(IServiceProvider services, Microsoft.Extensions.Options.IOptions<Storage.RedisOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var redis = services.GetService<IConnectionMultiplexer>();
        if (redis is null)
        {
            return HealthCheckResult.Healthy("in-memory store (no Redis configured)");
        }
        try
        {
            var latency = await redis.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
            return HealthCheckResult.Healthy($"ping {latency.TotalMilliseconds:0.0} ms");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            var reason = await RedisConnectionReport.ProbeAsync(ConfigurationOptions.Parse(options.Value.ConnectionString),
                TimeSpan.FromMilliseconds(500), cancellationToken);
            return HealthCheckResult.Unhealthy($"Redis unreachable: {reason} ({ex.Message})");
        }
    }
}

/// <summary><c>/readyz</c>: the start-up verified OSVI's token and agent, and OSVI did not last refuse the token.</summary>
public sealed class OsviReadinessCheck(OsviAuthState auth) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(auth.IsRejected
            ? HealthCheckResult.Unhealthy("OSVI refuses the API token or agent (401/403); probing until it works again")
            : auth.Unverified is { } reason
                ? HealthCheckResult.Unhealthy("OSVI token and agent not verified yet: " + reason)
                : HealthCheckResult.Healthy("OSVI token accepted"));
}

/// <summary>
/// <c>/readyz</c>: every configured channel is connected to its platform. The description names the
/// channels that are down first. A platform with several bots or apps (<c>telegram</c>, <c>telegram:{botId}</c>, …)
/// is ready while one of them is connected: the others being down is reported as degraded (still HTTP 200),
/// so that one bot down does not take the replica, and with it every other bot, out of service.
/// </summary>
public sealed class ChannelsReadinessCheck(ChannelStatusBoard board) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var channels = board.Snapshot().OrderBy(c => c.Channel, StringComparer.Ordinal).ToArray();
        var down = channels.Where(c => !c.Connected).ToArray();
        var all = string.Join("; ", channels.Select(c => $"{c.Channel}: {c.Detail}"));
        if (down.Length == 0)
        {
            return Task.FromResult(HealthCheckResult.Healthy(all.Length == 0 ? "no channels" : all));
        }
        var detail = $"down: {string.Join(", ", down.Select(c => c.Channel))}; {all}";
        var platformDown = down.Select(c => PlatformOf(c.Channel)).Distinct(StringComparer.Ordinal)
            .Any(platform => !channels.Any(c => c.Connected && PlatformOf(c.Channel) == platform));
        return Task.FromResult(platformDown ? HealthCheckResult.Unhealthy(detail) : HealthCheckResult.Degraded(detail));
    }

    private static string PlatformOf(string channel) => channel.Split(':', 2)[0];
}
