using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Osvi;
using Osvi.Bridge.Relay;
using Osvi.Bridge.Sessions;
using Osvi.Bridge.Storage;
using Osvi.Bridge.Telemetry;
using StackExchange.Redis;

namespace Osvi.Bridge.Hosting;

/// <summary>
/// A private copy of the message path for an adapter's start-up rehearsal: the inbox of the kind this
/// process runs, the dispatcher, the relay, the session store and the agent port of the configured OSVI
/// flavour, built from the same classes as the real ones so that their one-time costs are paid before
/// <c>/readyz</c>. Only the edges differ: Redis keys of its own under
/// <c>{KeyPrefix}rehearsal:{id}:</c> (one partition, deleted afterwards), OSVI answered from memory with
/// its own token state, metrics on a meter that is exported nowhere, no logs and no traces. The adapter
/// puts its own ingress in front and its reply sender (on canned platform answers) behind.
/// </summary>
internal sealed class RehearsalPipeline : IAsyncDisposable
{
    /// <summary>The answer of the canned agent: Markdown with the constructs the renderers handle.</summary>
    public const string AgentAnswer = "**Hello** _there_: `code`, [a link](https://example.com)\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |";

    /// <summary>The canned legacy agent's welcome, sent first when <c>Bridge:SendWelcomeMessage</c> is on, as OSVI's is.</summary>
    public const string AgentWelcome = "Hi! How can I help?";

    /// <summary>
    /// How long a canned answer takes, as from a server nearby. With instant answers the inner awaits
    /// suspended while the outer steps were still being compiled, which then found them complete and
    /// never suspended: their suspension paths were left for the first real message to compile.
    /// </summary>
    public static readonly TimeSpan AnswerDelay = TimeSpan.FromMilliseconds(15);

    private readonly Meter _meter = new("Osvi.Bridge.Rehearsal");
    private readonly HandledMessages _handled = new();
    private readonly IServiceProvider _services;
    private readonly IConnectionMultiplexer? _redis;
    private readonly RedisKeys? _keys;
    private readonly ISessionStore _sessions;
    private readonly ConcurrentQueue<RedisKey> _written = new();
    private readonly IDisposable _noTraces;
    private readonly HttpClient _osviHttp;
    private IHostedService? _inbox;
    private AgentDirectory? _agents;
    private bool _expiring;

    private RehearsalPipeline(IServiceProvider services)
    {
        _services = services;
        // The rehearsal's spans ("handle message" of a conversation nobody has) stay out of the traces.
        _noTraces = OpenTelemetry.SuppressInstrumentationScope.Begin();
        Metrics = new BridgeMetrics(_meter);
        var time = services.GetRequiredService<TimeProvider>();
        _osviHttp = new HttpClient(new CannedApi(time, OsviAnswer)) { BaseAddress = new Uri("http://osvi.rehearsal.invalid/") };
        var bridge = services.GetRequiredService<IOptions<BridgeOptions>>();
        if (services.GetRequiredService<IInbox>() is RedisStreamInbox)
        {
            var prefix = services.GetRequiredService<IOptions<RedisOptions>>().Value.KeyPrefix;
            var id = Guid.NewGuid().ToString("N")[..12];
            _redis = services.GetRequiredService<IConnectionMultiplexer>();
            _keys = new RedisKeys(Options.Create(new RedisOptions { KeyPrefix = $"{prefix}rehearsal:{id}:" }));
            _sessions = new RedisSessionStore(_redis, _keys, services.GetRequiredService<IOptions<SessionsOptions>>());
            Marks = new TrackedMarks(new RedisDeduplicationStore(_redis, _keys, bridge), _keys, _written);
        }
        else
        {
            _sessions = new InMemorySessionStore(services.GetRequiredService<IOptions<SessionsOptions>>(), time, NullLogger<InMemorySessionStore>.Instance);
            Marks = new InMemoryDeduplicationStore(bridge, time);
        }
    }

    /// <summary>De-duplication marks on the rehearsal's own keys, for the adapter's ingress and sender.</summary>
    public IDeduplicationStore Marks { get; }

    /// <summary>Metrics that reach no exporter, for the adapter's sender.</summary>
    public BridgeMetrics Metrics { get; }

    /// <summary>A pipeline over the stores of the kind this process uses; <see cref="StartAsync"/> it with the adapter's sender.</summary>
    public static RehearsalPipeline Create(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return new RehearsalPipeline(services);
    }

    /// <summary>Starts the inbox, dispatcher and relay in front of <paramref name="sender"/>; returns the inbox for the adapter's ingress.</summary>
    public async Task<IInbox> StartAsync(IReplySender sender, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sender);
        var services = _services;
        var time = services.GetRequiredService<TimeProvider>();
        var bridge = services.GetRequiredService<IOptions<BridgeOptions>>();
        var osvi = services.GetRequiredService<IOptions<OsviOptions>>();
        var auth = new OsviAuthState(NullLogger<OsviAuthState>.Instance);
        IAgentConversation Agent(IOptions<OsviOptions> settings) => settings.Value.ApiVersion == OsviApiVersion.V1
            ? new V1AgentConversation(_osviHttp, settings, auth, Metrics, NullLogger<V1AgentConversation>.Instance)
            : new LegacyAgentConversation(new OsviClient(_osviHttp, settings, auth));
        // Every agent a bot or app names is answered from memory too, never by OSVI.
        var agents = _agents = new AgentDirectory(Agent(osvi), osvi, agentUuid => Agent(Options.Create(osvi.Value.WithAgent(agentUuid))));
        var resolver = new SessionResolver(_sessions, agents, Metrics, NullLogger<SessionResolver>.Instance, []);
        var relay = new MessageRelay([sender], resolver, agents, bridge, time, Metrics, NullLogger<MessageRelay>.Instance, []);
        // One attempt: a rehearsal that fails says so at once instead of retrying for a minute.
        var inboxOptions = Options.Create(new InboxOptions
        {
            Partitions = 1,
            MaxAttempts = 1,
            LeaseTimeout = services.GetRequiredService<IOptions<InboxOptions>>().Value.LeaseTimeout,
        });
        var runner = new DeliveryRunner(relay, inboxOptions, _handled, time, Metrics, NullLogger<DeliveryRunner>.Instance);
        if (_redis is not null && _keys is not null)
        {
            var inbox = new RedisStreamInbox(_redis, _keys, runner, _handled, inboxOptions, bridge, time, Metrics, NullLogger<RedisStreamInbox>.Instance);
            foreach (var key in new[] { _keys.InboxStream(0), _keys.InboxLease(0), _keys.Replicas, _keys.DeadLetters })
            {
                _written.Enqueue(key);
            }
            _inbox = inbox;
            await inbox.StartAsync(cancellationToken);
            // Messages are rehearsed as a held partition takes them (read in the accept's round trip).
            while (inbox.HeldPartitions.Count == 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(5), time, cancellationToken);
            }
            return inbox;
        }
        var memory = new InMemoryInbox(runner, Marks, _handled, bridge, Metrics, NullLogger<InMemoryInbox>.Instance);
        _inbox = memory;
        await memory.StartAsync(cancellationToken);
        return memory;
    }

    /// <summary>Completes with how <paramref name="message"/> ended once the pipeline has handled it; call before handing it over.</summary>
    public Task<DeliveryResult> Watch(InboundMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_keys is not null)
        {
            _written.Enqueue(_keys.Seen(message.Platform, message.DeduplicationId));
            _written.Enqueue(_keys.Session(_agents?.SessionKey(message.Conversation, message.AgentUuid) ?? message.Conversation));
        }
        return _handled.Watch(message);
    }

    /// <summary>Waits for a watched message; throws unless it was answered.</summary>
    public async Task ExpectFinishedAsync(Task<DeliveryResult> watch, string what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(watch);
        var result = await watch.WaitAsync(cancellationToken);
        if (result != DeliveryResult.Finished)
        {
            throw new InvalidOperationException($"the rehearsal's {what} ended {result}, not answered");
        }
        if (_keys is not null && !_expiring)
        {
            // Once the stream exists: a process killed during the rehearsal leaves it and the heartbeat
            // behind for an hour at most (leases and marks expire anyway, sessions after Sessions:IdleTimeout).
            _expiring = true;
            var database = _redis!.GetDatabase();
            await Task.WhenAll(database.KeyExpireAsync(_keys.InboxStream(0), TimeSpan.FromHours(1)),
                database.KeyExpireAsync(_keys.Replicas, TimeSpan.FromHours(1)));
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_inbox is not null)
            {
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _inbox.StopAsync(limit.Token);
                (_inbox as IDisposable)?.Dispose();
            }
            if (_redis is not null && !_written.IsEmpty)
            {
                // One key per call: on a Redis Cluster the keys live in different slots.
                var database = _redis.GetDatabase();
                await Task.WhenAll(_written.Distinct().Select(key => database.KeyDeleteAsync(key)));
            }
        }
        finally
        {
            _osviHttp.Dispose();
            _meter.Dispose();
            _noTraces.Dispose();
        }
    }

    /// <summary>Marks as the bridge's own, remembering each key for the clean-up (a reply sender marks drafts it ended).</summary>
    private sealed class TrackedMarks(IDeduplicationStore marks, RedisKeys keys, ConcurrentQueue<RedisKey> written) : IDeduplicationStore
    {
        public Task<bool> TryMarkAsync(string platform, string eventId, CancellationToken cancellationToken)
        {
            written.Enqueue(keys.Seen(platform, eventId));
            return marks.TryMarkAsync(platform, eventId, cancellationToken);
        }

        public Task UnmarkAsync(string platform, string eventId, CancellationToken cancellationToken) =>
            marks.UnmarkAsync(platform, eventId, cancellationToken);
    }

    /// <summary>The calls of both OSVI flavours, answered as OSVI shapes them.</summary>
    private static (HttpStatusCode, string) OsviAnswer(HttpRequestMessage request)
    {
        var answer = JsonString(AgentAnswer);
        return (request.RequestUri?.AbsolutePath ?? "") switch
        {
            "/chat_sessions" => (HttpStatusCode.OK, $$$"""{"success":true,"data":{"session_id":"rehearsal","agent_name":"Agent","welcome_message":"{{{AgentWelcome}}}"}}"""),
            "/chat_messages/send_message" => (HttpStatusCode.OK, $$$"""{"success":true,"data":{"session_id":"rehearsal","response":{{{answer}}},"current_state":"active"}}"""),
            "/v1/chat/session/active" => (HttpStatusCode.NotFound, """{"success":false,"error":"No active session"}"""),
            "/v1/chat/session" => (HttpStatusCode.OK, """{"success":true,"data":{"id":"rehearsal","status":"active","mode":"agent","help_requested":false}}"""),
            "/v1/chat/inbound" => (HttpStatusCode.OK, $$$"""{"success":true,"data":{"session_id":"rehearsal","reply":{{{answer}}},"mode":"agent","help_requested":false,"state":"active"}}"""),
            _ => (HttpStatusCode.NotFound, """{"success":false,"error":"Not found"}"""),
        };
    }

    private static string JsonString(string text) => "\"" + JsonEncodedText.Encode(text).ToString() + "\"";
}
