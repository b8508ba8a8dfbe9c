using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Telemetry;

namespace Osvi.Bridge.Osvi;

/// <summary>
/// The agents this bridge talks to: <c>Osvi:AgentUuid</c> (the registered <see cref="IAgentConversation"/>)
/// and every agent a bot or app names (<c>Telegram:Bots:N:AgentUuid</c>, <c>Slack:Apps:N:AgentUuid</c>), each
/// on the same OSVI account, API flavour, HTTP pipeline and token state, differing only in the agent.
/// </summary>
public sealed class AgentDirectory
{
    private readonly ConcurrentDictionary<string, IAgentConversation> _agents = new(StringComparer.Ordinal);
    private readonly IAgentConversation _defaultAgent;
    private readonly IOptions<OsviOptions> _options;
    private readonly Func<string, IAgentConversation> _create;

    public AgentDirectory(IAgentConversation defaultAgent, IOptions<OsviOptions> options, IServiceProvider services)
        : this(defaultAgent, options, agentUuid => Create(defaultAgent, options, services, agentUuid))
    {
    }

    /// <summary>With the ports to the other agents made by <paramref name="create"/> (the start-up rehearsal's answer from memory).</summary>
    internal AgentDirectory(IAgentConversation defaultAgent, IOptions<OsviOptions> options, Func<string, IAgentConversation> create)
    {
        _defaultAgent = defaultAgent;
        _options = options;
        _create = create;
    }

    /// <summary>Whether <paramref name="agentUuid"/> is the default agent (null and empty are).</summary>
    public bool IsDefault(string? agentUuid) =>
        string.IsNullOrEmpty(agentUuid) || string.Equals(agentUuid, _options.Value.AgentUuid, StringComparison.Ordinal);

    /// <summary>The port to the agent that answers <paramref name="message"/>.</summary>
    public IAgentConversation For(InboundMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return For(message.AgentUuid);
    }

    /// <summary>The port to <paramref name="agentUuid"/>; the default agent's for null.</summary>
    public IAgentConversation For(string? agentUuid) =>
        IsDefault(agentUuid) ? _defaultAgent : _agents.GetOrAdd(agentUuid!, _create);

    /// <summary>
    /// The key a conversation's session is stored under: the conversation itself for the default agent
    /// (so sessions stored before several agents existed are found as they are), and
    /// <c>{conversationKey}|agent:{agentUuid}</c> for another, as a session belongs to one agent.
    /// </summary>
    public ConversationKey SessionKey(ConversationKey conversation, string? agentUuid) =>
        IsDefault(agentUuid) ? conversation : new ConversationKey(conversation.Value + "|agent:" + agentUuid);

    private static IAgentConversation Create(IAgentConversation defaultAgent, IOptions<OsviOptions> options, IServiceProvider services, string agentUuid)
    {
        var settings = Options.Create(options.Value.WithAgent(agentUuid));
        var http = services.GetRequiredService<IHttpClientFactory>();
        var auth = services.GetRequiredService<OsviAuthState>();
        return defaultAgent.ApiVersion == OsviApiVersion.V1
            ? new V1AgentConversation(http.CreateClient(nameof(V1AgentConversation)), settings, auth,
                services.GetRequiredService<BridgeMetrics>(), services.GetRequiredService<ILogger<V1AgentConversation>>())
            : new LegacyAgentConversation(new OsviClient(http.CreateClient(nameof(OsviClient)), settings, auth));
    }
}
