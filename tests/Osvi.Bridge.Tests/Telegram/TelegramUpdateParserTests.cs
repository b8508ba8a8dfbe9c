using Osvi.Bridge.Adapters.Telegram;
using Osvi.Bridge.Messaging;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace Osvi.Bridge.Tests.Telegram;

public sealed class TelegramUpdateParserTests
{
    private const long BotId = 777;
    private static readonly TelegramBotIdentity Bot = new(BotId, "OsviBot");
    private static readonly User Alice = new() { Id = 42, FirstName = "Alice", LastName = "Liddell" };

    [Fact]
    public void A_private_message_is_one_conversation_with_no_quote()
    {
        var forward = Forwarded(Parse(Private("hello")));

        Assert.Equal("telegram", forward.Platform);
        Assert.Equal("telegram:777:42", forward.Conversation.Value);
        Assert.Equal("1001", forward.MessageId);
        Assert.Equal("42", forward.UserId);
        Assert.Equal("Alice Liddell", forward.DisplayName);
        Assert.Equal("hello", forward.Text);
        Assert.Equal(new ReplyTarget("42"), forward.ReplyTarget);
    }

    [Fact]
    public void A_group_message_that_does_not_address_the_bot_is_ignored() =>
        Assert.IsType<TelegramIgnore>(Parse(Group("just chatting")));

    [Fact]
    public void A_mention_in_a_group_is_answered_with_the_mention_stripped_and_a_quote()
    {
        var forward = Forwarded(Parse(Group("hey @OsviBot what is up", Entity(MessageEntityType.Mention, 4, 8))));

        Assert.Equal("hey what is up", forward.Text);
        Assert.Equal("telegram:777:-100500", forward.Conversation.Value);
        Assert.Equal(new ReplyTarget("-100500", null, "55"), forward.ReplyTarget);
    }

    [Fact]
    public void A_mention_of_another_user_does_not_address_the_bot() =>
        Assert.IsType<TelegramIgnore>(Parse(Group("@SomeoneElse hi", Entity(MessageEntityType.Mention, 0, 12))));

    [Fact]
    public void A_reply_to_the_bot_in_a_group_is_answered()
    {
        var update = Group("and then?");
        update.Message!.ReplyToMessage = new Message { Id = 54, From = new User { Id = BotId, IsBot = true, FirstName = "Osvi" }, Chat = update.Message.Chat };
        Assert.Equal("and then?", Forwarded(Parse(update)).Text);
    }

    [Theory]
    [InlineData("/reset@OsviBot", "/reset")]
    [InlineData("/reset@osvibot now", "/reset now")]
    [InlineData("/help", "/help")]
    public void Commands_for_this_bot_or_bare_commands_are_answered_in_groups(string text, string expected)
    {
        var length = text.Split(' ')[0].Length;
        Assert.Equal(expected, Forwarded(Parse(Group(text, Entity(MessageEntityType.BotCommand, 0, length)))).Text);
    }

    [Fact]
    public void Overlapping_command_and_mention_entities_are_stripped_once() =>
        Assert.Equal("/help", Forwarded(Parse(Group("/help@OsviBot",
            Entity(MessageEntityType.BotCommand, 0, 13), Entity(MessageEntityType.Mention, 5, 8)))).Text);

    [Fact]
    public void Commands_for_another_bot_are_ignored_in_groups() =>
        Assert.IsType<TelegramIgnore>(Parse(Group("/reset@OtherBot", Entity(MessageEntityType.BotCommand, 0, 15))));

    [Fact]
    public void A_forum_topic_message_gets_its_own_conversation_and_replies_in_the_topic()
    {
        var update = Group("@OsviBot hi", Entity(MessageEntityType.Mention, 0, 8));
        update.Message!.IsTopicMessage = true;
        update.Message.MessageThreadId = 9;

        var forward = Forwarded(Parse(update));

        Assert.Equal("telegram:777:-100500:9", forward.Conversation.Value);
        Assert.Equal("9", forward.ReplyTarget.ThreadId);
    }

    [Fact]
    public void A_thread_id_without_is_topic_message_is_not_a_topic()
    {
        var update = Group("@OsviBot hi", Entity(MessageEntityType.Mention, 0, 8));
        update.Message!.MessageThreadId = 9;

        var forward = Forwarded(Parse(update));

        Assert.Equal("telegram:777:-100500", forward.Conversation.Value);
        Assert.Null(forward.ReplyTarget.ThreadId);
    }

    [Fact]
    public void User_scope_gives_each_group_member_their_own_conversation()
    {
        var options = new TelegramOptions { BotToken = "1:x", GroupSessionScope = TelegramGroupSessionScope.User };
        var forward = Forwarded(Parse(Group("@OsviBot hi", Entity(MessageEntityType.Mention, 0, 8)), options));
        Assert.Equal("telegram:777:-100500:u42", forward.Conversation.Value);
    }

    [Fact]
    public void A_captioned_photo_forwards_its_caption()
    {
        var update = Private(null);
        update.Message!.Photo = [new PhotoSize { FileId = "f", FileUniqueId = "u", Width = 1, Height = 1 }];
        update.Message.Caption = "what is this?";
        Assert.Equal("what is this?", Forwarded(Parse(update)).Text);
    }

    [Fact]
    public void A_sticker_gets_the_non_text_notice()
    {
        var update = Private(null);
        update.Message!.Sticker = new Sticker { FileId = "f", FileUniqueId = "u", Type = StickerType.Regular, Width = 1, Height = 1 };
        var notice = Assert.IsType<TelegramNotice>(Parse(update));
        Assert.Equal(TelegramNoticeKind.NonText, notice.Kind);
        Assert.Equal("42", notice.Target.ChatId);
    }

    [Fact]
    public void Edited_messages_channel_posts_and_bots_are_ignored()
    {
        var edited = new Update { Id = 1, EditedMessage = Private("x").Message };
        var post = new Update { Id = 2, ChannelPost = Private("x").Message };
        var fromBot = Private("x");
        fromBot.Message!.From = new User { Id = 5, IsBot = true, FirstName = "b" };
        var empty = new Update { Id = 3 };

        Assert.All(new[] { edited, post, fromBot, empty }, u => Assert.IsType<TelegramIgnore>(Parse(u)));
    }

    [Fact]
    public void Chats_outside_the_allow_lists_are_refused()
    {
        var options = new TelegramOptions { BotToken = "1:x" };
        options.AllowedChatIds.Add(-100500);
        Assert.Equal(TelegramNoticeKind.NotAllowed, Assert.IsType<TelegramNotice>(Parse(Private("hi"), options)).Kind);
        Assert.IsType<TelegramForward>(Parse(Group("@OsviBot hi", Entity(MessageEntityType.Mention, 0, 8)), options));

        options.AllowedUserIds.Add(42);
        Assert.IsType<TelegramForward>(Parse(Private("hi"), options));
    }

    [Fact]
    public void A_text_above_the_inbound_limit_gets_the_polite_notice_and_never_reaches_the_agent()
    {
        var parser = new TelegramUpdateParser(new TelegramOptions { BotToken = "1:x" }, new BridgeOptions { MaxInboundLength = 100 });

        Assert.Equal(new string('a', 100), Forwarded(parser.Parse(Private(new string('a', 100)), Bot)).Text);
        var notice = Assert.IsType<TelegramNotice>(parser.Parse(Private(new string('a', 101)), Bot));
        Assert.Equal(TelegramNoticeKind.TooLong, notice.Kind);
        Assert.Equal("Your message is too long for me. Please keep it under 100 characters.", notice.Text);
    }

    [Fact]
    public void The_selected_quote_or_the_replied_message_is_the_quote_but_never_the_bots_own_words()
    {
        var own = Private("what about this?");
        own.Message!.ReplyToMessage = new Message { Id = 40, Chat = own.Message.Chat, From = Alice, Text = "my earlier note", Date = DateTime.UtcNow };
        Assert.Equal("my earlier note", Forwarded(Parse(own)).Quote);

        own.Message.Quote = new TextQuote { Text = "earlier" };
        Assert.Equal("earlier", Forwarded(Parse(own)).Quote);

        var toBot = Private("and then?");
        toBot.Message!.ReplyToMessage = new Message
        {
            Id = 41, Chat = toBot.Message.Chat, From = new User { Id = BotId, IsBot = true, FirstName = "Osvi" }, Text = "the answer", Date = DateTime.UtcNow,
        };
        Assert.Null(Forwarded(Parse(toBot)).Quote);
        Assert.Null(Forwarded(Parse(Private("plain"))).Quote);
    }

    [Fact]
    public void A_pressed_stop_names_the_chat_and_the_draft()
    {
        var update = new Update
        {
            Id = 1002,
            StoppedMessageGeneration = new MessageGenerationStopped { Chat = new Chat { Id = 42, Type = ChatType.Private }, DraftId = 99 },
        };

        Assert.Equal(new TelegramStop(42, 99), Parse(update));
    }

    private static TelegramUpdateDecision Parse(Update update, TelegramOptions? options = null) =>
        new TelegramUpdateParser(options ?? new TelegramOptions { BotToken = "1:x" }).Parse(update, Bot);

    private static InboundMessage Forwarded(TelegramUpdateDecision decision) =>
        Assert.IsType<TelegramForward>(decision).Message;

    private static MessageEntity Entity(MessageEntityType type, int offset, int length) => new() { Type = type, Offset = offset, Length = length };

    private static Update Private(string? text) => new()
    {
        Id = 1001,
        Message = new Message { Id = 50, Chat = new Chat { Id = 42, Type = ChatType.Private }, From = Alice, Text = text, Date = DateTime.UtcNow },
    };

    private static Update Group(string text, params MessageEntity[] entities) => new()
    {
        Id = 1002,
        Message = new Message
        {
            Id = 55,
            Chat = new Chat { Id = -100500, Type = ChatType.Supergroup },
            From = Alice,
            Text = text,
            Entities = entities.Length == 0 ? null : entities,
            Date = DateTime.UtcNow,
        },
    };
}
