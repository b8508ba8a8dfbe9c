using Microsoft.Extensions.Options;
using Osvi.Bridge.Hosting;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// Starts the Slack channel: <c>auth.test</c> before the host finishes starting (a refused bot
/// token fails the start with a <see cref="BridgeConfigurationException"/>), then runs Socket Mode
/// until stopped. In Events API mode there is nothing to run: the endpoint receives the events.
/// </summary>
public sealed partial class SlackChannelService : BackgroundService
{
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

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _status.Report(SlackSocketModeClient.ChannelName, false, "starting");
        try
        {
            await LearnIdentityAsync(cancellationToken);
        }
        catch (SlackApiException ex) when (ex.IsAuthenticationError)
        {
            _status.Report(SlackSocketModeClient.ChannelName, false, $"Slack refused Slack:BotToken ({ex.Error})");
            throw new BridgeConfigurationException(
                $"Slack refused Slack:BotToken (auth.test: {ex.Error}). Set Slack__BotToken to the app's bot token (xoxb-…) and make sure the app is installed in the workspace.",
                ex);
        }
        catch (SlackApiException ex)
        {
            // Slack unreachable is not a configuration error: keep trying in the background.
            LogAuthDeferred(_logger, ex.Error);
        }
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var attempt = 0;
            while (_identity.Current is null)
            {
                attempt++;
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(60, Math.Pow(2, Math.Min(attempt, 6)))), _time, stoppingToken);
                try
                {
                    await LearnIdentityAsync(stoppingToken);
                }
                catch (SlackApiException ex)
                {
                    _status.Report(SlackSocketModeClient.ChannelName, false, $"auth.test failed ({ex.Error})");
                    LogAuthDeferred(_logger, ex.Error);
                }
            }

            if (_options.Mode == SlackReceiveMode.SocketMode)
            {
                await _socketMode.RunAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task LearnIdentityAsync(CancellationToken cancellationToken)
    {
        var identity = await _api.AuthTestAsync(cancellationToken);
        _identity.Set(identity);
        LogIdentity(_logger, identity.UserId, identity.BotId, identity.TeamId, _options.Mode);
        if (_options.Mode == SlackReceiveMode.EventsApi)
        {
            _status.Report(SlackSocketModeClient.ChannelName, true, "events api: ready at POST " + SlackEventsEndpoint.Path);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack bot user {UserId} (bot {BotId}) in team {TeamId}; receiving via {Mode}")]
    private static partial void LogIdentity(ILogger logger, string userId, string botId, string teamId, SlackReceiveMode mode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack auth.test failed ({Error}); retrying in the background")]
    private static partial void LogAuthDeferred(ILogger logger, string error);
}
