using Microsoft.Extensions.Options;
using Osvi.Bridge.Dispatching;
using StackExchange.Redis;

namespace Osvi.Bridge.Storage;

/// <summary>
/// "Only one replica at a time does this" (Telegram long polling for one bot): a <see cref="RedisLease"/>
/// taken when free, renewed every <see cref="InboxOptions.RenewInterval"/> and taken over by another
/// replica within <see cref="InboxOptions.LeaseTimeout"/> when its holder dies. Without Redis there is
/// one process, and the lease is simply held.
/// </summary>
public sealed partial class ReplicaLeases(IServiceProvider services, IOptions<InboxOptions> options, TimeProvider time, ILogger<ReplicaLeases> logger)
{
    private readonly string _owner = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>Waits until this replica holds the lease; the returned lease tells when it is lost.</summary>
    public async Task<HeldLease> AcquireAsync(RedisKey key, CancellationToken cancellationToken)
    {
        var redis = services.GetService<IConnectionMultiplexer>();
        if (redis is null)
        {
            return new HeldLease(null, key, _owner, CancellationToken.None, null);
        }
        var ttl = options.Value.LeaseTtl;
        var interval = options.Value.RenewInterval;
        var waitedLogged = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                if (await RedisLease.TryAcquireAsync(redis.GetDatabase(), key, _owner, ttl))
                {
                    LogAcquired(logger, key.ToString());
                    var lost = new CancellationTokenSource();
                    var renewal = KeepAsync(redis, key, ttl, interval, lost, cancellationToken);
                    return new HeldLease(redis, key, _owner, lost.Token, new Renewal(lost, renewal));
                }
                if (!waitedLogged)
                {
                    LogStandby(logger, key.ToString());
                    waitedLogged = true;
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                LogAcquireFailed(logger, key.ToString(), ex.Message);
            }
            await Task.Delay(interval, time, cancellationToken);
        }
    }

    private async Task KeepAsync(IConnectionMultiplexer redis, RedisKey key, TimeSpan ttl, TimeSpan interval, CancellationTokenSource lost,
        CancellationToken cancellationToken)
    {
        var lastRenewed = time.GetTimestamp();
        while (!lost.IsCancellationRequested)
        {
            await Task.Delay(interval, time, lost.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (lost.IsCancellationRequested)
            {
                return;
            }
            try
            {
                if (!await RedisLease.RenewAsync(redis.GetDatabase(), key, _owner, ttl))
                {
                    LogLost(logger, key.ToString());
                    await lost.CancelAsync();
                    return;
                }
                lastRenewed = time.GetTimestamp();
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Redis is away: once the lease may have expired, another replica may hold it.
                if (time.GetElapsedTime(lastRenewed) >= ttl)
                {
                    LogLost(logger, key.ToString());
                    await lost.CancelAsync();
                    return;
                }
                LogRenewFailed(logger, key.ToString(), ex.Message);
            }
        }
    }

    /// <summary>The renewal of a held lease: stopped (and the lease given back) on dispose.</summary>
    internal sealed record Renewal(CancellationTokenSource Stop, Task Loop);

    [LoggerMessage(Level = LogLevel.Information, Message = "This replica holds lease {Lease}")]
    private static partial void LogAcquired(ILogger logger, string lease);

    [LoggerMessage(Level = LogLevel.Information, Message = "Lease {Lease} is held by another replica; standing by to take over")]
    private static partial void LogStandby(ILogger logger, string lease);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not try lease {Lease} ({Reason}); trying again")]
    private static partial void LogAcquireFailed(ILogger logger, string lease, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not renew lease {Lease} ({Reason}); trying again")]
    private static partial void LogRenewFailed(ILogger logger, string lease, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost lease {Lease}; stopping what it guards")]
    private static partial void LogLost(ILogger logger, string lease);
}

/// <summary>A lease this replica holds; <see cref="Lost"/> is cancelled if it is lost. Disposing gives it back.</summary>
public sealed class HeldLease : IAsyncDisposable
{
    private readonly IConnectionMultiplexer? _redis;
    private readonly RedisKey _key;
    private readonly string _owner;
    private readonly ReplicaLeases.Renewal? _renewal;

    internal HeldLease(IConnectionMultiplexer? redis, RedisKey key, string owner, CancellationToken lost, ReplicaLeases.Renewal? renewal)
    {
        _redis = redis;
        _key = key;
        _owner = owner;
        Lost = lost;
        _renewal = renewal;
    }

    public CancellationToken Lost { get; }

    public async ValueTask DisposeAsync()
    {
        if (_renewal is null || _redis is null)
        {
            return;
        }
        await _renewal.Stop.CancelAsync();
        await _renewal.Loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        try
        {
            await RedisLease.ReleaseAsync(_redis.GetDatabase(), _key, _owner);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // It expires by itself.
        }
        _renewal.Stop.Dispose();
    }
}
