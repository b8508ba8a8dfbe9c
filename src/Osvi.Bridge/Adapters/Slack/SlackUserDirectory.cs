using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// Display names from <c>users.info</c>, for a new session's <c>person_name</c> only (never on the
/// ack path). Names are cached for <see cref="SlackOptions.UserCacheTtl"/>; a lookup that fails or
/// takes longer than <see cref="SlackOptions.UserLookupTimeout"/> falls back to the user id, and
/// that fallback is cached for <see cref="FailureTtl"/> so that a rate-limited or unreachable
/// <c>users.info</c> costs each user one timeout, not one per message. Concurrent lookups of one
/// user share one call.
/// </summary>
public sealed partial class SlackUserDirectory : IDisplayNameResolver
{
    /// <summary>How long a failed lookup is remembered before the next message of that user asks again.</summary>
    public static readonly TimeSpan FailureTtl = TimeSpan.FromMinutes(1);

    private readonly SlackApiClient _api;
    private readonly SlackOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SlackUserDirectory> _logger;
    private readonly ConcurrentDictionary<string, CachedName> _names = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _pending = new(StringComparer.Ordinal);
    private long _lookups;

    public SlackUserDirectory(SlackApiClient api, IOptions<SlackOptions> options, TimeProvider time, ILogger<SlackUserDirectory> logger)
    {
        _api = api;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    public string Platform => SlackEventParser.Platform;

    public string Instance => _options.Instance;

    public Task<string> ResolveAsync(InboundMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return GetDisplayNameAsync(message.UserId, cancellationToken);
    }

    public async Task<string> GetDisplayNameAsync(string userId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        if (_names.TryGetValue(userId, out var cached) && cached.ExpiresAt > _time.GetUtcNow())
        {
            return cached.Name;
        }
        var lookup = _pending.GetOrAdd(userId, id => new Lazy<Task<string>>(() => LookUpAsync(id)));
        // The shared lookup has its own timeout; a caller that stops waiting does not cancel it for the others.
        return await lookup.Value.WaitAsync(cancellationToken);
    }

    private async Task<string> LookUpAsync(string userId)
    {
        try
        {
            using var timeout = new CancellationTokenSource(_options.UserLookupTimeout, _time);
            string name;
            TimeSpan ttl;
            try
            {
                name = await _api.GetUserDisplayNameAsync(userId, timeout.Token) ?? userId;
                ttl = _options.UserCacheTtl;
            }
            catch (Exception ex) when (ex is SlackApiException or OperationCanceledException or TimeoutException)
            {
                LogLookupFailed(_logger, userId, ex is SlackApiException slack ? slack.Error : "timeout");
                name = userId;
                ttl = FailureTtl < _options.UserCacheTtl ? FailureTtl : _options.UserCacheTtl;
            }
            _names[userId] = new CachedName(name, _time.GetUtcNow() + ttl);
            SweepExpired();
            return name;
        }
        finally
        {
            _pending.TryRemove(userId, out _);
        }
    }

    /// <summary>Keeps the cache from holding every user ever seen: every so often, expired entries go.</summary>
    private void SweepExpired()
    {
        if (Interlocked.Increment(ref _lookups) % 1024 != 0)
        {
            return;
        }
        var now = _time.GetUtcNow();
        foreach (var pair in _names)
        {
            if (pair.Value.ExpiresAt <= now)
            {
                _names.TryRemove(pair);
            }
        }
    }

    private sealed record CachedName(string Name, DateTimeOffset ExpiresAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not look up Slack user {UserId} ({Error}); using the id as name")]
    private static partial void LogLookupFailed(ILogger logger, string userId, string error);
}
