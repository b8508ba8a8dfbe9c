using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// What a slash command (<c>Slack:SlashCommand</c>, default <c>/osvi</c>) means: Slack's composer refuses an
/// unknown <c>/reset</c>, so <c>/osvi reset</c> and <c>/osvi help</c> stand in for the bridge's commands. In a
/// DM with the app the command goes through the inbox as the bridge command (<c>/reset</c>, <c>/help</c>), in
/// order with the DM's messages, and is answered there; in a channel, where every thread is its own
/// conversation, it gets an ephemeral answer (the help, or how to start over) in the acknowledgement.
/// </summary>
public sealed record SlackSlashCommand(SlackUserMessage? Message, string? EphemeralText, string? IgnoredReason)
{
    /// <summary>
    /// Reads a slash command's fields (the form of the HTTP request, or the Socket Mode payload);
    /// <paramref name="field"/> returns a field's value or null.
    /// </summary>
    public static SlackSlashCommand Parse(Func<string, string?> field, SlackBotIdentity identity, SlackOptions options, BridgeOptions bridge)
    {
        ArgumentNullException.ThrowIfNull(field);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(bridge);
        var command = field("command");
        if (!string.Equals(command, options.SlashCommand, StringComparison.OrdinalIgnoreCase))
        {
            return new SlackSlashCommand(null, null, $"command {command ?? "-"} is not {options.SlashCommand}");
        }
        var user = field("user_id");
        var channel = field("channel_id");
        var trigger = field("trigger_id");
        if (string.IsNullOrEmpty(user) || string.IsNullOrEmpty(channel) || string.IsNullOrEmpty(trigger))
        {
            return new SlackSlashCommand(null, null, "missing user_id, channel_id or trigger_id");
        }
        var word = (field("text") ?? "").Trim().Split(' ', 2)[0].ToLowerInvariant();
        var bridgeCommand = word is "reset" or "new" ? "/reset" : "/help";
        // D… is a direct message with the app: one conversation, as in SlackEventParser.
        if (!channel.StartsWith('D'))
        {
            return new SlackSlashCommand(null, bridgeCommand == "/reset"
                ? options.SlashCommandChannelNotice.Replace("{Command}", options.SlashCommand, StringComparison.Ordinal)
                : bridge.HelpMessage, null);
        }
        var team = field("team_id") is { Length: > 0 } t ? t : identity.TeamId;
        if (options.Instance.Length > 0)
        {
            // Another app's conversations carry the app, as in SlackEventParser.
            team = options.Instance + "@" + team;
        }
        // The trigger id is unique per invocation and the same in a redelivered envelope: the de-duplication key.
        return new SlackSlashCommand(new SlackUserMessage(ConversationKey.Create(SlackEventParser.Platform, team, channel),
            "command:" + trigger, user, bridgeCommand, new ReplyTarget(channel)), null, null);
    }
}
