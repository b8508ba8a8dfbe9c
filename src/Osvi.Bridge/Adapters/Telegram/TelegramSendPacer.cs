using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Osvi.Bridge.Adapters.Telegram;

/// <summary>
/// Keeps sends within Telegram's limits (about 1/s per private chat, 20/min per group, 30/s overall)
/// so that we rarely meet a 429. Pacing only delays, never reorders: a conversation sends its parts one
/// at a time through here, and waiters for one chat queue oldest first.
/// </summary>
public sealed class TelegramSendPacer : IDisposable
{
    private const int QueueLimit = 100_000;
    private readonly Lazy<(PartitionedRateLimiter<string> PerChat, TokenBucketRateLimiter Global)> _limiters;

    public TelegramSendPacer(IOptions<TelegramOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // Built on first use so that resolving the sender never reads (and throws for) invalid options.
        _limiters = new(() => Create(options.Value));
    }

    private static (PartitionedRateLimiter<string>, TokenBucketRateLimiter) Create(TelegramOptions o)
    {
        var global = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = o.GlobalPerSecond,
            TokensPerPeriod = o.GlobalPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = QueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
        var perChat = PartitionedRateLimiter.Create<string, string>(chatId => IsGroup(chatId)
            ? RateLimitPartition.GetTokenBucketLimiter(chatId, _ => Bucket(Math.Min(3, o.GroupPerMinute), TimeSpan.FromMinutes(1) / o.GroupPerMinute))
            : RateLimitPartition.GetTokenBucketLimiter(chatId, _ => Bucket(o.PerChatRate, TimeSpan.FromSeconds(1) / o.PerChatRate)));
        return (perChat, global);
    }

    /// <summary>Waits until one more message may go to this chat; true when it had to wait.</summary>
    public async ValueTask<bool> WaitTurnAsync(string chatId, CancellationToken cancellationToken)
    {
        var limiters = _limiters.Value;
        var waited = false;
        var chatLease = limiters.PerChat.AttemptAcquire(chatId);
        if (!chatLease.IsAcquired)
        {
            chatLease.Dispose();
            waited = true;
            chatLease = await limiters.PerChat.AcquireAsync(chatId, 1, cancellationToken);
        }
        using (chatLease)
        {
            EnsureAcquired(chatLease);
        }

        var globalLease = limiters.Global.AttemptAcquire();
        if (!globalLease.IsAcquired)
        {
            globalLease.Dispose();
            waited = true;
            globalLease = await limiters.Global.AcquireAsync(1, cancellationToken);
        }
        using (globalLease)
        {
            EnsureAcquired(globalLease);
        }
        return waited;
    }

    public void Dispose()
    {
        if (_limiters.IsValueCreated)
        {
            _limiters.Value.PerChat.Dispose();
            _limiters.Value.Global.Dispose();
        }
    }

    /// <summary>Telegram gives groups, supergroups and channels negative ids, users positive ones.</summary>
    internal static bool IsGroup(string chatId) => chatId.StartsWith('-');

    private static TokenBucketRateLimiterOptions Bucket(int burst, TimeSpan perToken) => new()
    {
        TokenLimit = burst,
        TokensPerPeriod = 1,
        ReplenishmentPeriod = perToken,
        QueueLimit = QueueLimit,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        // The partitioned limiter's own heartbeat (every 100 ms) refills every chat's bucket: one
        // timer for all chats instead of one per chat that sent in the last seconds.
        AutoReplenishment = false,
    };

    private static void EnsureAcquired(RateLimitLease lease)
    {
        if (!lease.IsAcquired)
        {
            throw new InvalidOperationException("Too many Telegram messages are waiting to be sent.");
        }
    }
}
