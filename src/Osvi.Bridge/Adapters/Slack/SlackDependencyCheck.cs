using Microsoft.Extensions.Options;
using Osvi.Bridge.Hosting;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// <c>check</c>: Slack accepts the bot token (<c>auth.test</c>) and, in Socket Mode, the app token
/// (<c>apps.connections.open</c>; the URL it returns is not used, so no connection is held open).
/// </summary>
public sealed class SlackDependencyCheck(SlackApiClient slack, IOptions<SlackOptions> options) : IDependencyCheck
{
    /// <summary>One line per app: the default app as always, an app of <c>Slack:Apps</c> by its key.</summary>
    public string Name => options.Value.Instance.Length == 0 ? "slack" : $"slack ({options.Value.ConfigPath}, app {options.Value.AppId})";

    public async Task<DependencyCheckResult> RunAsync(CancellationToken cancellationToken)
    {
        SlackBotIdentity identity;
        try
        {
            identity = await slack.AuthTestAsync(cancellationToken);
        }
        catch (SlackApiException ex)
        {
            return DependencyCheckResult.Fail($"auth.test refused the bot token {CheckCommand.Mask(options.Value.BotToken)}: {ex.Error}");
        }

        var detail = $"auth.test ok: bot user {identity.UserId} in team {identity.TeamId}";
        if (options.Value.Mode != SlackReceiveMode.SocketMode)
        {
            return DependencyCheckResult.Pass(detail + $"; Events API mode (POST {options.Value.EventsPath})");
        }
        try
        {
            await slack.OpenSocketConnectionAsync(cancellationToken);
            return DependencyCheckResult.Pass(detail + "; apps.connections.open ok (Socket Mode)");
        }
        catch (SlackApiException ex)
        {
            return DependencyCheckResult.Fail($"{detail}; apps.connections.open refused the app token {CheckCommand.Mask(options.Value.AppToken)}: {ex.Error}");
        }
    }
}
