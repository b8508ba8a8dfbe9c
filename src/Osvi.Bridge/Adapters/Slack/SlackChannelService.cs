using Microsoft.Extensions.Options;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// Starts the Slack channel in the background, so the HTTP listener and <c>/healthz</c> come up at
/// once: <c>auth.test</c> is retried with a capped back-off while <c>/readyz</c> reports it pending
/// (the Events API answers 503 meanwhile), then Socket Mode runs until stopped. A bot token Slack
/// refuses stops the host with a <see cref="BridgeConfigurationException"/> (exit 2).
/// </summary>
public sealed partial class SlackChannelService : BackgroundService
{
    private static readonly TimeSpan MaxAuthRetryDelay = TimeSpan.FromSeconds(30);

    private readonly SlackApiClient _api;
    private readonly SlackBotIdentityHolder _identity;
    private readonly SlackSocketModeClient _socketMode;
    private readonly ChannelStatusBoard _status;
    private readonly SlackOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SlackChannelService> _logger;

    public SlackChannelService(SlackApiClient api, SlackBotIdentityHolder identity, SlackSocketModeClient socketMode,
        ChannelStatusBoard status, IOptions<SlackOptions> options, TimeProvider time, ILogger<SlackChannelService> logger)
    {
        _api = api;
        _identity = identity;
        _socketMode = socketMode;
        _status = status;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _status.Report(_options.ChannelName, false, "starting: auth.test pending");
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // An app of Slack:Apps names itself in every line; the default app logs as a single app always did.
        using var scope = _options.Instance.Length == 0 ? null : _logger.BeginScope(new LogFields("Channel", _options.ChannelName));
        try
        {
            await LearnIdentityAsync(stoppingToken);
            if (_options.Mode == SlackReceiveMode.SocketMode)
            {
                await _socketMode.RunAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (BridgeConfigurationException ex) when (!_options.RefusalStopsHost)
        {
            // Beside other apps, a refused token leaves this one down and named on /readyz; the others serve on.
            LogAppRefused(_logger, _options.ChannelName, ex.Message);
        }
    }

    private async Task LearnIdentityAsync(CancellationToken stoppingToken)
    {
        var delay = _options.ReconnectDelay;
        while (true)
        {
            try
            {
                var identity = await _api.AuthTestAsync(stoppingToken);
                _identity.Set(identity);
                LogIdentity(_logger, identity.UserId, identity.BotId, identity.TeamId, _options.Mode);
                _status.Report(_options.ChannelName, _options.Mode == SlackReceiveMode.EventsApi,
                    _options.Mode == SlackReceiveMode.EventsApi ? "events api: ready at POST " + _options.EventsPath : "socket mode: connecting");
                return;
            }
            catch (SlackApiException ex) when (ex.IsAuthenticationError)
            {
                var key = _options.ConfigPath + ":BotToken";
                _status.Report(_options.ChannelName, false, $"Slack refused {key} ({ex.Error})");
                throw new BridgeConfigurationException(
                    $"Slack refused {key} (auth.test: {ex.Error}). Set {key.Replace(":", "__", StringComparison.Ordinal)} to the app's bot token (xoxb-…) and make sure the app is installed in the workspace.",
                    ex);
            }
            catch (SlackApiException ex)
            {
                // Slack unreachable or failing is not a configuration error: keep trying, not ready meanwhile.
                _status.Report(_options.ChannelName, false, $"auth.test failed ({ex.Error}); retrying");
                LogAuthDeferred(_logger, ex.Error, delay.TotalSeconds);
            }
            await Task.Delay(delay, _time, stoppingToken);
            delay = TimeSpan.FromTicks(Math.Min(MaxAuthRetryDelay.Ticks, Math.Max(delay.Ticks * 2, TimeSpan.FromMilliseconds(100).Ticks)));
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Channel} stays down, the other apps serve on: {Reason}")]
    private static partial void LogAppRefused(ILogger logger, string channel, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack bot user {UserId} (bot {BotId}) in team {TeamId}; receiving via {Mode}")]
    private static partial void LogIdentity(ILogger logger, string userId, string botId, string teamId, SlackReceiveMode mode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack auth.test failed ({Error}); retrying in {DelaySeconds:0.#} s")]
    private static partial void LogAuthDeferred(ILogger logger, string error, double delaySeconds);
}
