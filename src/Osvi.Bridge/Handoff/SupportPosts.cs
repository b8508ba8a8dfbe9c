using System.Globalization;
using System.Text;
using Osvi.Bridge.Formatting;

namespace Osvi.Bridge.Handoff;

/// <summary>
/// The bridge's posts in the support channel, as Slack mrkdwn. Whatever users, the agent or operators wrote is
/// escaped (or rendered from Markdown), so it can neither mention anyone nor break the post's markup.
/// </summary>
public static class SupportPosts
{
    /// <summary>Longest quote of one message in a post; the thread is for acting, the whole history is at OSVI.</summary>
    public const int QuoteLength = 500;

    public const string Commands =
        "Reply in this thread to answer the user (your first reply takes the conversation over from the agent). " +
        "Commands: `!takeover` · `!whisper <text>` (guidance for the agent's next answer, not shown to the user) · " +
        "`!tell <text>` (the agent answers the user with your guidance) · `!end` (hand back to the agent) · " +
        "`!close` (close the session; the user's next message starts a new one).";

    public static string HelpRequest(string name, string platform, string conversation, string sessionId, string trigger, string agentReply,
        IReadOnlyList<RelayedTurn> recentTurns)
    {
        ArgumentNullException.ThrowIfNull(recentTurns);
        var post = new StringBuilder();
        post.Append(CultureInfo.InvariantCulture, $":sos: *Help requested* by *{Escape(name)}* ({Escape(platform)}, `{Escape(conversation)}`, session `{Escape(sessionId)}`)\n");
        post.Append(Quote(trigger)).Append('\n');
        if (!string.IsNullOrWhiteSpace(agentReply))
        {
            post.Append("_The agent answered:_ ").Append(Short(agentReply)).Append('\n');
        }
        if (recentTurns.Count > 0)
        {
            post.Append("*Before that:*\n");
            foreach (var turn in recentTurns)
            {
                post.Append(CultureInfo.InvariantCulture, $"• *{Escape(name)}:* {Short(turn.UserText)}\n");
                if (!string.IsNullOrWhiteSpace(turn.AgentReply))
                {
                    post.Append(CultureInfo.InvariantCulture, $"• *Agent:* {Short(turn.AgentReply)}\n");
                }
            }
        }
        post.Append(Commands);
        return post.ToString();
    }

    public static string AgentUnreachable(string name, string platform, string conversation, string? sessionId, string text, string reason)
    {
        var session = sessionId is null ? "no session yet" : $"session `{Escape(sessionId)}`";
        var post = new StringBuilder();
        post.Append(CultureInfo.InvariantCulture,
            $":rotating_light: *The agent could not be reached* for *{Escape(name)}* ({Escape(platform)}, `{Escape(conversation)}`, {session}): {Escape(reason)}\n");
        post.Append(Quote(text)).Append('\n');
        post.Append(sessionId is null ? "The user got the apology; no session exists to answer in." : Commands);
        return post.ToString();
    }

    /// <summary>A user's message (and the agent's answer, if any) in an open thread.</summary>
    public static string Mirror(string name, string userText, string agentReply)
    {
        var post = $"*{Escape(name)}:* {Escape(userText)}";
        return string.IsNullOrWhiteSpace(agentReply) ? post : post + "\n*Agent:* " + SlackMrkdwnRenderer.Render(agentReply);
    }

    public static string AgentFailedInThread(string name, string userText, string reason) =>
        $"*{Escape(name)}:* {Escape(userText)}\n:warning: OSVI could not take this message ({Escape(reason)}); it is not in the session's history.";

    public static string TookOver(string operatorId, string name) =>
        $":raising_hand: <@{operatorId}> took the conversation over: the agent stays silent and your replies here go to {Escape(name)}. `!end` hands it back.";

    public static string AlreadyTakenOver(string name) => $"An operator has the conversation already; reply here to answer {Escape(name)}.";

    public static string HandedBack(string operatorId, string name) =>
        $":robot_face: <@{operatorId}> handed the conversation back: the agent answers {Escape(name)} again.";

    public static string Whispered(string name) =>
        $":shushing_face: Whispered to the agent: it guides its next answer; {Escape(name)} does not see it.";

    public static string Told(string name, string reply) =>
        string.IsNullOrWhiteSpace(reply)
            ? $":speech_balloon: Told the agent; it had nothing to say to {Escape(name)}."
            : $":speech_balloon: Told the agent; it answered {Escape(name)}:\n{SlackMrkdwnRenderer.Render(reply)}";

    public static string ClosedByOperator(string operatorId, string name) =>
        $":lock: <@{operatorId}> closed the session: {Escape(name)}'s next message starts a new conversation with the agent.";

    public const string SessionClosed =
        ":lock: This conversation's session is closed, so nothing was sent. The user's next message starts a new session (and a new thread if help is asked for again).";

    public static string Usage(string problem) => $":grey_question: {Escape(problem)}\n{Commands}";

    public static string NotDelivered(string name, string reason) =>
        $":warning: Recorded at OSVI but not delivered to {Escape(name)}: {Escape(reason)}";

    public static string OsviFailed(string what, string reason) => $":warning: OSVI did not take {Escape(what)}: {Escape(reason)}";

    private static string Quote(string text) => "> " + Short(text).Replace("\n", "\n> ", StringComparison.Ordinal);

    private static string Short(string text) => Escape(text.Length > QuoteLength ? text[..QuoteLength] + "…" : text);

    private static string Escape(string text) => SlackMrkdwnRenderer.Escape(text);
}
