using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// The quoted context of a Slack conversation that starts with a mention inside a thread someone else
/// began: the thread's first message (<c>Slack:QuoteThreadParent</c>), unless the bot wrote it. One
/// <c>conversations.replies</c> call when the thread's session is created; Slack's history limits for
/// distributed apps (1 request a minute) make a per-message look-up a bad idea.
/// </summary>
public sealed class SlackThreadParentQuote(SlackApiClient api, SlackBotIdentityHolder identity, IOptions<SlackOptions> options) : IQuoteSource
{
    public string Platform => SlackEventParser.Platform;

    public string Instance => options.Value.Instance;

    public async Task<string?> FindAsync(InboundMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var target = message.ReplyTarget;
        // A thread reply: the thread is not the message itself (a mention at top level opens its own thread).
        if (!options.Value.QuoteThreadParent || target.ThreadId is not { } thread || thread == target.ReplyToMessageId || identity.Current is not { } bot)
        {
            return null;
        }
        var parent = await api.GetThreadParentAsync(target.ChatId, thread, cancellationToken);
        if (parent is null || parent.BotId is not null || parent.UserId == bot.UserId)
        {
            return null;
        }
        var text = SlackEventParser.CleanText(parent.Text, bot.UserId);
        return text.Length == 0 ? null : text;
    }
}
