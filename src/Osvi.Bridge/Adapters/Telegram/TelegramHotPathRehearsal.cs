using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Formatting;
using Osvi.Bridge.Hosting;
using Telegram.Bot;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace Osvi.Bridge.Adapters.Telegram;

/// <summary>
/// The Telegram path rehearsed with canned Bot API answers served from memory: Telegram.Bot's JSON
/// for getUpdates, sendMessage and sendChatAction, the update parser, and the HTML renderer and
/// splitter on a Markdown answer; then three messages of two chats through the whole path, from this
/// bot's ingress over a private copy of the inbox, relay and agent port (<see cref="RehearsalPipeline"/>)
/// to its reply sender. Without that, the first message after a deploy paid for the just-in-time
/// compilation of every async step on its way (bench scenario f: ~80 ms added, later ones ~5 ms).
/// </summary>
internal sealed class TelegramHotPathRehearsal(
    TelegramUpdateParser parser,
    IOptions<TelegramOptions> options,
    IServiceProvider services,
    IHostApplicationLifetime lifetime,
    TimeProvider time) : IHotPathRehearsal
{
    private const long ChatId = 1;

    public string Name => "telegram";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new CannedApi(time, BotApiAnswer));
        var client = new TelegramBotClient(new TelegramBotClientOptions("1:rehearsal", "http://rehearsal.invalid") { RetryThreshold = 0 }, http);
        await RehearseClientAsync(client, cancellationToken);
        await RehearsePathAsync(client, cancellationToken);
    }

    private async Task RehearseClientAsync(TelegramBotClient client, CancellationToken cancellationToken)
    {
        var updates = await client.GetUpdates(1, 100, 0, [UpdateType.Message], cancellationToken);
        if (updates is not [{ Message.Text.Length: > 0 }])
        {
            throw new InvalidOperationException("the canned getUpdates answer did not come back as one text message");
        }
        var bot = new TelegramBotIdentity(1, "rehearsal_bot");
        foreach (var update in updates)
        {
            _ = parser.Parse(update, bot);
        }
        await client.SendChatAction(ChatId, ChatAction.Typing, cancellationToken: cancellationToken);
        var html = TelegramHtmlRenderer.Render("**Hello** _there_: `code`, [a link](https://example.com)\n\n- one\n- two\n\n```\nblock\n```");
        foreach (var part in TelegramMessageSplitter.Split(html, 4096))
        {
            await client.SendMessage(ChatId, part, parseMode: ParseMode.Html,
                replyParameters: new ReplyParameters { MessageId = 1, AllowSendingWithoutReply = true }, cancellationToken: cancellationToken);
        }
        _ = TelegramMessageSplitter.ToPlainText(html);
    }

    private async Task RehearsePathAsync(TelegramBotClient client, CancellationToken cancellationToken)
    {
        await using var pipeline = RehearsalPipeline.Create(services);
        // Paced without waits: the rehearsal's answers go out at once, also twice to one chat.
        using var pacer = new TelegramSendPacer(Options.Create(new TelegramOptions { PerChatRate = 100, GroupPerMinute = 6000, GlobalPerSecond = 10_000 }));
        var sender = new TelegramReplySender(new Lazy<ITelegramBotClient>(client), pacer, pipeline.Marks, options, pipeline.Metrics, time,
            NullLogger<TelegramReplySender>.Instance);
        var inbox = await pipeline.StartAsync(sender, cancellationToken);
        var ingress = new TelegramUpdateIngress(inbox, pipeline.Marks, parser, sender, options, lifetime, NullLogger<TelegramUpdateIngress>.Instance);
        var bot = new TelegramBotIdentity(1, "rehearsal_bot");
        // A chat the allow-lists let in, so that the message goes on to the agent; a second one only
        // when every chat is let in.
        var chat = options.Value.AllowedChatIds.Count > 0 ? options.Value.AllowedChatIds[0] : ChatId;
        var user = options.Value.AllowedUserIds.Count > 0 ? options.Value.AllowedUserIds[0] : 1000;
        var other = options.Value.AllowedChatIds.Count == 0 && options.Value.AllowedUserIds.Count == 0 ? 1 : 0;
        // Two chats start a session each (the second one on compiled code, so its waits on Redis suspend
        // as they do for real), then the first chat finds its session.
        for (var id = 1; id <= 3; id++)
        {
            var update = new Update
            {
                Id = id,
                Message = new Message
                {
                    Id = id,
                    Date = time.GetUtcNow().UtcDateTime,
                    Chat = new Chat { Id = id == 2 ? chat + other : chat, Type = ChatType.Private, FirstName = "Ada" },
                    From = new User { Id = id == 2 ? user + other : user, FirstName = "Ada", Username = "ada" },
                    Text = "Hello, how are you?",
                },
            };
            if (parser.Parse(update, bot) is not TelegramForward forward)
            {
                throw new InvalidOperationException("the rehearsal's message was not taken for the agent");
            }
            var handled = pipeline.Watch(forward.Message);
            await ingress.HandleAsync(update, bot, cancellationToken);
            await pipeline.ExpectFinishedAsync(handled, $"message {id}", cancellationToken);
        }
    }

    private const string CannedUser = """{"id":1000,"is_bot":false,"first_name":"Ada","last_name":"L","username":"ada","language_code":"en"}""";
    private const string CannedChat = """{"id":1,"first_name":"Ada","username":"ada","type":"private"}""";
    private const string CannedMessage = $$$"""{"message_id":2,"from":{{{CannedUser}}},"chat":{{{CannedChat}}},"date":1764633600,"text":"Hello, how are you?","entities":[{"offset":0,"length":5,"type":"bold"}],"reply_to_message":{"message_id":1,"from":{{{CannedUser}}},"chat":{{{CannedChat}}},"date":1764633500,"text":"earlier"}}""";

    /// <summary>Each Bot API method answered with a typical result, as the real API would shape it.</summary>
    private static (HttpStatusCode, string) BotApiAnswer(HttpRequestMessage request)
    {
        var result = (request.RequestUri?.Segments[^1] ?? "") switch
        {
            "getUpdates" => $$"""[{"update_id":1,"message":{{CannedMessage}}}]""",
            "sendMessage" => CannedMessage,
            _ => "true",
        };
        return (HttpStatusCode.OK, $$"""{"ok":true,"result":{{result}}}""");
    }
}
