using System.Net;
using System.Text;
using Osvi.Bridge.Formatting;
using Osvi.Bridge.Hosting;
using Telegram.Bot;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace Osvi.Bridge.Adapters.Telegram;

/// <summary>
/// The Telegram path rehearsed with canned Bot API answers served from memory: Telegram.Bot's JSON
/// for getUpdates, sendMessage and sendChatAction, the update parser, and the HTML renderer and
/// splitter on a Markdown answer.
/// </summary>
internal sealed class TelegramHotPathRehearsal(TelegramUpdateParser parser) : IHotPathRehearsal
{
    private const long ChatId = 1;

    public string Name => "telegram";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new CannedBotApi());
        var client = new TelegramBotClient(new TelegramBotClientOptions("1:rehearsal", "http://rehearsal.invalid") { RetryThreshold = 0 }, http);
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

    /// <summary>Answers each Bot API method with a typical result, as the real API would shape it.</summary>
    private sealed class CannedBotApi : HttpMessageHandler
    {
        private const string User = """{"id":1000,"is_bot":false,"first_name":"Ada","last_name":"L","username":"ada","language_code":"en"}""";
        private const string Chat = """{"id":1,"first_name":"Ada","username":"ada","type":"private"}""";
        private const string Message = $$$"""{"message_id":2,"from":{{{User}}},"chat":{{{Chat}}},"date":1764633600,"text":"Hello, how are you?","entities":[{"offset":0,"length":5,"type":"bold"}],"reply_to_message":{"message_id":1,"from":{{{User}}},"chat":{{{Chat}}},"date":1764633500,"text":"earlier"}}""";

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Content is not null)
            {
                // Consumes the serialized request, as the real transport would.
                _ = await request.Content.ReadAsByteArrayAsync(cancellationToken);
            }
            var method = request.RequestUri?.Segments[^1] ?? "";
            var result = method switch
            {
                "getUpdates" => $$"""[{"update_id":1,"message":{{Message}}}]""",
                "sendMessage" => Message,
                _ => "true",
            };
            return new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent($$"""{"ok":true,"result":{{result}}}""", Encoding.UTF8, "application/json"),
            };
        }
    }
}
