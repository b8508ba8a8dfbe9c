using Microsoft.Extensions.Options;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Storage;
using Osvi.Bridge.Telemetry;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace Osvi.Bridge.Adapters.Telegram;

/// <summary>
/// Receives updates by long polling with our own loop (Telegram.Bot's receiver confirms updates
/// before they are handled and retries errors without delay). The offset moves past an update only
/// after the inbox accepted it, so a crash re-reads it and the inbox's de-duplication drops what
/// was already taken. Failures back off (409 Conflict from 5 s, others from 1 s, capped). With several
/// replicas only the holder of the bot's poller lease polls; the others stand by to take it over.
/// A watchdog abandons a <c>getUpdates</c> that runs <see cref="TelegramOptions.PollWatchdogGrace"/> past
/// its long-poll timeout (a half-open connection) and polls again at once.
/// </summary>
public sealed partial class TelegramPoller(
    ITelegramBotClient bot,
    TelegramBotIdentityProvider identity,
    TelegramUpdateIngress ingress,
    TelegramCommandMenu commandMenu,
    ChannelStatusBoard status,
    ReplicaLeases leases,
    RedisKeys keys,
    IOptions<TelegramOptions> options,
    TimeProvider time,
    BridgeMetrics metrics,
    ILogger<TelegramPoller> logger,
    StartupFailure startupFailure) : BackgroundService
{
    private static readonly UpdateType[] AllowedUpdates = TelegramUpdateParser.HandledUpdates;
    private readonly TelegramOptions _options = options.Value;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // getMe and deleteWebhook run in ExecuteAsync, in the background: the listener and /healthz
        // must not wait for Telegram; /readyz says "starting" until they worked.
        status.Report(_options.ChannelName, false, "starting");
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A bot of Telegram:Bots names itself in every line; the default bot logs as a single bot always did.
        using var scope = _options.Instance.Length == 0 ? null : logger.BeginScope(new LogFields("Channel", _options.ChannelName));
        var me = await PrepareAsync(stoppingToken);
        if (me is null)
        {
            return;
        }
        // One replica polls per bot: two pollers with one token only fight (409) and add nothing, as
        // every replica works on the shared inbox anyway. The others stand by to take the lease over.
        var leaseKey = keys.TelegramPollerLease(me.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        while (!stoppingToken.IsCancellationRequested)
        {
            status.Report(_options.ChannelName, true, $"standing by as @{me.Username} (another replica polls)");
            HeldLease lease;
            try
            {
                lease = await leases.AcquireAsync(leaseKey, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            await using (lease)
            {
                using var polling = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lease.Lost);
                await PollAsync(me, polling.Token);
            }
            if (!stoppingToken.IsCancellationRequested)
            {
                LogPollerLeaseLost(logger);
            }
        }
    }

    /// <summary>Long-polls until <paramref name="stoppingToken"/> ends (a stop, or the poller lease lost).</summary>
    private async Task PollAsync(TelegramBotIdentity me, CancellationToken stoppingToken)
    {
        int? offset = null;
        var confirmed = offset;
        var delay = TimeSpan.Zero;
        // getMe and deleteWebhook worked: ready now, not only after the first long poll returns
        // (on a quiet bot that would keep /readyz red for a whole polling timeout).
        var connected = true;
        status.Report(_options.ChannelName, true, $"polling as @{me.Username}");
        LogPolling(logger, me.Username);
        var timeoutSeconds = (int)_options.PollingTimeout.TotalSeconds;
        while (!stoppingToken.IsCancellationRequested)
        {
            Update[] updates;
            using var watchdog = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            watchdog.CancelAfter(_options.PollingTimeout + _options.PollWatchdogGrace);
            try
            {
                updates = await bot.GetUpdates(offset, 100, timeoutSeconds, AllowedUpdates, watchdog.Token);
                confirmed = offset;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (watchdog.IsCancellationRequested && ex is OperationCanceledException or RequestException)
            {
                // Nothing came back well past the long-poll timeout: the connection is most likely half-open.
                // The offset is unchanged, so nothing is lost; poll again on a fresh request.
                LogPollAbandoned(logger, _options.PollingTimeout + _options.PollWatchdogGrace);
                metrics.PollAbandoned();
                continue;
            }
            catch (ApiRequestException ex) when (ex.ErrorCode == 409)
            {
                delay = NextDelay(delay, _options.ConflictRetryDelay);
                LogConflict(logger, ex.Message, delay);
                status.Report(_options.ChannelName, false, "409 Conflict: " + ex.Message);
                connected = false;
                await DelayAsync(delay, stoppingToken);
                continue;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                delay = NextDelay(delay, _options.PollingRetryDelay);
                LogPollFailed(logger, ex, ex.Message, delay);
                status.Report(_options.ChannelName, false, "polling failed: " + ex.Message);
                connected = false;
                await DelayAsync(delay, stoppingToken);
                continue;
            }

            if (!connected)
            {
                connected = true;
                status.Report(_options.ChannelName, true, $"polling as @{me.Username}");
                LogPolling(logger, me.Username);
            }

            if (updates.Length == 0)
            {
                continue;
            }
            var batch = updates.OrderBy(u => u.Id).ToList();
            try
            {
                await ingress.HandleBatchAsync(batch, me, stoppingToken);
            }
            catch (InboxClosedException)
            {
                // Shutting down: leave the batch unconfirmed so the next start reads it again.
                LogInboxClosed(logger, batch[0].Id);
                await ConfirmAsync(offset, confirmed);
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                await ConfirmAsync(offset, confirmed);
                return;
            }
            catch (Exception ex)
            {
                // The inbox could not take them (its store is down, say): leave them unconfirmed and
                // poll again after a pause; Telegram hands them out again from the unchanged offset.
                delay = NextDelay(delay, _options.PollingRetryDelay);
                LogAcceptFailed(logger, ex, batch[0].Id, delay);
                await DelayAsync(delay, stoppingToken);
                continue;
            }
            offset = batch[^1].Id + 1;
            delay = TimeSpan.Zero;
        }
        await ConfirmAsync(offset, confirmed);
    }

    /// <summary>getMe and deleteWebhook (polling and a webhook exclude each other), retried until they work.</summary>
    private async Task<TelegramBotIdentity?> PrepareAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.Zero;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Side by side: they do not depend on each other, and two requests in flight leave two
                // connections open, so the first reply does not wait for a new one beside the long poll.
                var identifying = identity.EnsureAsync(stoppingToken);
                var unhooking = bot.DeleteWebhook(dropPendingUpdates: false, stoppingToken);
                await Task.WhenAll(identifying, unhooking);
                var me = await identifying;
                await commandMenu.SetAsync(stoppingToken);
                return me;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return null;
            }
            catch (BridgeConfigurationException ex)
            {
                // A refused token does not get better by retrying: stop with exit code 2 (or, beside other
                // bots, leave this one down and named on /readyz).
                status.Report(_options.ChannelName, false, ex.Message);
                if (_options.RefusalStopsHost)
                {
                    startupFailure.Report(ex);
                }
                else
                {
                    LogBotRefused(logger, _options.ChannelName, ex.Message);
                }
                return null;
            }
            catch (RequestException ex)
            {
                delay = NextDelay(delay, _options.PollingRetryDelay);
                LogPrepareFailed(logger, ex.Message, delay);
                status.Report(_options.ChannelName, false, ex.Message);
                await DelayAsync(delay, stoppingToken);
            }
        }
        return null;
    }

    /// <summary>
    /// Tells Telegram about updates handled since the last poll (a poll with the new offset is how
    /// Telegram learns it), so a clean stop does not make the next start re-read them.
    /// </summary>
    private async Task ConfirmAsync(int? offset, int? confirmed)
    {
        if (offset is null || offset == confirmed)
        {
            return;
        }
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(3), time);
        try
        {
            await bot.GetUpdates(offset, 1, 0, AllowedUpdates, limit.Token);
        }
        catch (Exception ex) when (ex is RequestException or OperationCanceledException)
        {
            // De-duplication covers updates that come back after all.
            LogConfirmFailed(logger, ex.Message);
        }
    }

    private TimeSpan NextDelay(TimeSpan previous, TimeSpan first)
    {
        var next = previous < first ? first : previous * 2;
        return next > _options.PollingMaxRetryDelay ? _options.PollingMaxRetryDelay : next;
    }

    private async Task DelayAsync(TimeSpan delay, CancellationToken stoppingToken)
    {
        // A zero delay still yields, so a failing call can never become a hot loop without a floor.
        var floor = delay < TimeSpan.FromMilliseconds(50) ? TimeSpan.FromMilliseconds(50) : delay;
        await Task.Delay(floor, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Channel} stays down, the other bots serve on: {Reason}")]
    private static partial void LogBotRefused(ILogger logger, string channel, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the Telegram poller lease (this replica stalled past it); another replica polls now, standing by")]
    private static partial void LogPollerLeaseLost(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram getUpdates did not return within {Limit} (long-poll timeout plus Telegram:PollWatchdogGrace); abandoned it and polling again")]
    private static partial void LogPollAbandoned(ILogger logger, TimeSpan limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Telegram polling started as @{Username}")]
    private static partial void LogPolling(ILogger logger, string username);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Telegram answered 409 Conflict ({Reason}). Either a webhook is set (the bridge deletes it at start; set Telegram:Mode=Webhook to use one) or another instance polls with the same token (run one poller per bot). Retrying in {Delay}")]
    private static partial void LogConflict(ILogger logger, string reason, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram getUpdates failed ({Reason}); retrying in {Delay}")]
    private static partial void LogPollFailed(ILogger logger, Exception exception, string reason, TimeSpan delay);

    // One line per retry, no stack trace: Telegram being away is expected, /readyz reports it.
    [LoggerMessage(Level = LogLevel.Warning, Message = "Telegram start-up (getMe, deleteWebhook) failed ({Reason}); retrying in {Delay}")]
    private static partial void LogPrepareFailed(ILogger logger, string reason, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Information, Message = "Inbox closed: Telegram update {UpdateId} left unconfirmed for the next start")]
    private static partial void LogInboxClosed(ILogger logger, int updateId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Telegram update {UpdateId} could not be handed to the inbox; it stays unconfirmed, polling again in {Delay}")]
    private static partial void LogAcceptFailed(ILogger logger, Exception exception, int updateId, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not confirm Telegram updates at stop ({Reason})")]
    private static partial void LogConfirmFailed(ILogger logger, string reason);
}
