using Osvi.Bridge.Adapters.Slack;
using Osvi.Bridge.Adapters.Telegram;

namespace Osvi.Bridge.Osvi;

/// <summary>
/// The agents the configured bots and apps name. <c>Osvi:AgentUuid</c> answers every bot or app that
/// names none, so it is needed only when one does not; when all do, the first one's agent is the default
/// (for <c>chat</c>, <c>check</c> and the start-up probe).
/// </summary>
public static class ChannelAgents
{
    /// <summary><paramref name="configured"/> when set; else the first entry's agent when every entry names one; else empty.</summary>
    public static string DefaultAgent(IConfiguration configuration, string configured)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }
        var agents = TelegramBotEntries.Sections(configuration).Select(TelegramBotEntries.AgentOf)
            .Concat(SlackAppEntries.Sections(configuration).Select(SlackAppEntries.AgentOf))
            .ToList();
        return agents.Count > 0 && agents.All(a => a is not null) ? agents[0]! : configured;
    }
}
