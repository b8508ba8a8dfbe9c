using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// Display names from <c>users.info</c>, cached for <see cref="SlackOptions.UserCacheTtl"/>. A lookup
/// that fails falls back to the user id: a name is nice to have, the message is what matters.
/// </summary>
public sealed partial class SlackUserDirectory
{
    // Events must be acknowledged within 3 s; a slow users.info must not eat that budget.
    private static readonly TimeSpan LookupTimeout = TimeSpan.FromSeconds(1.5);

    private readonly SlackApiClient _api;
    private readonly SlackOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SlackUserDirectory> _logger;
    private readonly ConcurrentDictionary<string, CachedName> _names = new(StringComparer.Ordinal);

    public SlackUserDirectory(SlackApiClient api, IOptions<SlackOptions> options, TimeProvider time, ILogger<SlackUserDirectory> logger)
    {
        _api = api;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    public async Task<string> GetDisplayNameAsync(string userId, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_names.TryGetValue(userId, out var cached) && cached.ExpiresAt > now)
        {
            return cached.Name;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(LookupTimeout);
        try
        {
            var name = await _api.GetUserDisplayNameAsync(userId, timeout.Token) ?? userId;
            _names[userId] = new CachedName(name, now + _options.UserCacheTtl);
            return name;
        }
        catch (Exception ex) when (ex is SlackApiException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogLookupFailed(_logger, userId, ex.GetType().Name);
            return userId;
        }
    }

    private sealed record CachedName(string Name, DateTimeOffset ExpiresAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not look up Slack user {UserId} ({ErrorKind}); using the id as name")]
    private static partial void LogLookupFailed(ILogger logger, string userId, string errorKind);
}
