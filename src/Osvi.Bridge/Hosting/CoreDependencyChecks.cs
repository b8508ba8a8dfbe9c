using Microsoft.Extensions.Options;
using Osvi.Bridge.Osvi;
using Osvi.Bridge.Storage;
using StackExchange.Redis;

namespace Osvi.Bridge.Hosting;

/// <summary><c>check</c>: Redis answers PING and accepts a write (or the in-memory store is in use).</summary>
public sealed class RedisDependencyCheck(IServiceProvider services, IOptions<RedisOptions> options) : IDependencyCheck
{
    public string Name => "redis";

    public async Task<DependencyCheckResult> RunAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.IsConfigured)
        {
            return DependencyCheckResult.Pass("not configured: in-memory store (single process, sessions lost on restart)");
        }
        try
        {
            var redis = services.GetRequiredService<IConnectionMultiplexer>();
            var database = redis.GetDatabase();
            var latency = await database.PingAsync().WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            var probe = options.Value.KeyPrefix + "check:" + Guid.NewGuid().ToString("N");
            await database.StringSetAsync(probe, "1", TimeSpan.FromSeconds(10)).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            await database.KeyDeleteAsync(probe).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            var endpoint = redis.GetEndPoints().FirstOrDefault();
            return DependencyCheckResult.Pass($"{endpoint} answers PING in {latency.TotalMilliseconds:0.0} ms and accepts writes");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            var reason = await RedisConnectionReport.ProbeAsync(ConfigurationOptions.Parse(options.Value.ConnectionString),
                TimeSpan.FromSeconds(2), cancellationToken);
            return DependencyCheckResult.Fail($"unreachable: {reason} ({ex.Message})");
        }
    }
}

/// <summary>
/// <c>check</c>: OSVI accepts the token and knows the agent. By default it only reads, with the
/// <see cref="OsviAccessProbe"/> the worker's start-up uses too; with <c>--create-session</c> it starts
/// one session (v1: and sends it one message) and closes it at once.
/// </summary>
public sealed class OsviDependencyCheck(OsviAccessProbe probe, IAgentConversation agent, IOptions<OsviOptions> options, CheckCommandOptions command)
    : IDependencyCheck
{
    /// <summary>The v1 customer the check reads and, with <c>--create-session</c>, talks as; no conversation key has this form.</summary>
    public const string ProbeCustomerId = OsviAccessProbe.ProbeCustomerId;

    public string Name => "osvi";

    public async Task<DependencyCheckResult> RunAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (command.CreateSession)
        {
            return agent.ApiVersion == OsviApiVersion.V1 ? await RunV1TurnAsync(settings, cancellationToken) : await StartAndCloseAsync(settings, cancellationToken);
        }

        return FromProbe(await probe.ProbeAsync(cancellationToken), settings);
    }

    /// <summary>The verdict of the read-only probe for <paramref name="settings"/>' agent.</summary>
    internal static DependencyCheckResult FromProbe(OsviAccessResult result, OsviOptions settings) =>
        result.Verdict switch
        {
            OsviAccessVerdict.Accepted when settings.ApiVersion == OsviApiVersion.V1 =>
                DependencyCheckResult.Pass(result.Detail + ": run 'check --create-session' to try a full turn"),
            // The legacy list names voice agents only: an agent missing from it may still chat (README → check).
            OsviAccessVerdict.Accepted when result.Detail.Contains("not in the active-agents list", StringComparison.Ordinal) =>
                DependencyCheckResult.Pass(result.Detail + ": run 'check --create-session' to try it for real"),
            OsviAccessVerdict.Accepted => DependencyCheckResult.Pass(result.Detail),
            OsviAccessVerdict.TokenRefused or OsviAccessVerdict.AgentUnknown => DependencyCheckResult.Refuse(result.Detail),
            _ => DependencyCheckResult.Fail(result.Detail),
        };

    private async Task<DependencyCheckResult> StartAndCloseAsync(OsviOptions settings, CancellationToken cancellationToken)
    {
        var probeKey = new Messaging.ConversationKey("check");
        try
        {
            var session = await agent.StartSessionAsync(probeKey, "osvi-bridge check", cancellationToken);
            await agent.CloseSessionAsync(session.SessionId, probeKey, cancellationToken);
            return DependencyCheckResult.Pass(
                $"token accepted; agent {settings.AgentUuid} started test session {session.SessionId} ('{session.AgentName}'), closed again");
        }
        catch (OsviException ex)
        {
            return DependencyCheckResult.Fail(ex.Message);
        }
    }

    private async Task<DependencyCheckResult> RunV1TurnAsync(OsviOptions settings, CancellationToken cancellationToken)
    {
        // Customer id osvi-bridge:check, the same as the read-only probe's.
        var probeKey = new Messaging.ConversationKey("check");
        try
        {
            var session = await agent.StartSessionAsync(probeKey, "osvi-bridge check", cancellationToken);
            var turn = await agent.SendAsync(session.SessionId, probeKey, "This is a connectivity test from osvi-bridge check. Please reply briefly.",
                cancellationToken);
            await agent.CloseSessionAsync(session.SessionId, probeKey, cancellationToken);
            return DependencyCheckResult.Pass(
                $"token accepted; agent {settings.AgentUuid} started test session {session.SessionId} (Chat v1, customer {ProbeCustomerId}), "
                + $"answered a test message ({turn.Text.Length} characters, mode {turn.Mode ?? "-"}), closed again");
        }
        catch (OsviException ex)
        {
            return DependencyCheckResult.Fail(ex.Message);
        }
    }
}

/// <summary>
/// <c>check</c>: an agent a bot or app names (<c>Telegram:Bots:N:AgentUuid</c>, <c>Slack:Apps:N:AgentUuid</c>)
/// besides the default one, verified with the same read-only call; one line per agent, named by the key that set it.
/// </summary>
public sealed class OsviAgentDependencyCheck(OsviAccessProbe probe, IOptions<OsviOptions> options, string agentUuid, string key) : IDependencyCheck
{
    public string Name => $"osvi ({key})";

    public async Task<DependencyCheckResult> RunAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value.WithAgent(agentUuid);
        return OsviDependencyCheck.FromProbe(await probe.ProbeAsync(settings, cancellationToken), settings);
    }
}

/// <summary>Flags of the <c>check</c> command.</summary>
public sealed record CheckCommandOptions(bool CreateSession);
