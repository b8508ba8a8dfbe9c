namespace Osvi.Bridge.Adapters.Telegram;

/// <summary>Registers the Telegram channel when <c>Telegram:BotToken</c> is set.</summary>
public static class TelegramServiceCollectionExtensions
{
    public static IServiceCollection AddTelegramChannel(this IServiceCollection services, IConfiguration configuration) => services;

    public static IEndpointRouteBuilder MapTelegramEndpoints(this IEndpointRouteBuilder endpoints) => endpoints;
}
