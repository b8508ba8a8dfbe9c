using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Osvi.Bridge.Telemetry;

/// <summary>
/// The bridge's meters and activity source (both named <c>Osvi.Bridge</c>). Exported at <c>/metrics</c>
/// in Prometheus format and over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
/// </summary>
public sealed class BridgeMetrics
{
    public const string Name = "Osvi.Bridge";

    /// <summary>Spans for one message: adapter → relay → OSVI call → reply.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Counter<long> _received;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _answered;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _rateLimitWaits;
    private readonly Counter<long> _sessionsCreated;
    private readonly Counter<long> _inboxRetries;
    private readonly Counter<long> _redeliveries;
    private readonly Counter<long> _takeovers;
    private readonly Counter<long> _deadLetters;
    private readonly Counter<long> _helpRequested;
    private readonly Counter<long> _merged;
    private readonly Counter<long> _stopped;
    private readonly Counter<long> _pollsAbandoned;
    private readonly Counter<long> _handoffHelpRequests;
    private readonly Counter<long> _handoffTakeovers;
    private readonly Counter<long> _handoffOperatorMessages;
    private readonly Counter<long> _handoffHandBacks;
    private readonly Histogram<double> _handoffFirstReply;
    private readonly Histogram<double> _agentLatency;
    private readonly Histogram<double> _endToEnd;

    public BridgeMetrics(IMeterFactory meterFactory)
        : this((meterFactory ?? throw new ArgumentNullException(nameof(meterFactory))).Create(Name))
    {
    }

    /// <summary>On a meter of the caller's: one not named <see cref="Name"/> is exported nowhere (the start-up rehearsal's).</summary>
    internal BridgeMetrics(Meter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        _received = meter.CreateCounter<long>("osvi_bridge.messages.received", "{message}", "Messages accepted from a platform");
        _duplicates = meter.CreateCounter<long>("osvi_bridge.messages.duplicates", "{message}", "Redelivered platform events dropped");
        _answered = meter.CreateCounter<long>("osvi_bridge.messages.answered", "{message}", "Messages answered by the agent");
        _failed = meter.CreateCounter<long>("osvi_bridge.messages.failed", "{message}", "Messages that got the apology or could not be delivered");
        _retries = meter.CreateCounter<long>("osvi_bridge.retries", "{retry}", "Retried calls to OSVI or a platform");
        _rateLimitWaits = meter.CreateCounter<long>("osvi_bridge.rate_limit.waits", "{wait}", "Waits imposed by a platform's rate limit or our own pacing");
        _sessionsCreated = meter.CreateCounter<long>("osvi_bridge.sessions.created", "{session}", "OSVI sessions started");
        _inboxRetries = meter.CreateCounter<long>("osvi_bridge.inbox.retries", "{attempt}", "Message attempts that failed for now and were tried again later");
        _redeliveries = meter.CreateCounter<long>("osvi_bridge.inbox.redeliveries", "{message}", "Messages handled again after a crash or a stop (taken over from the pending list)");
        _takeovers = meter.CreateCounter<long>("osvi_bridge.inbox.takeovers", "{message}", "Unfinished messages this replica took over from a previous partition holder");
        _deadLetters = meter.CreateCounter<long>("osvi_bridge.inbox.dead_letters", "{message}", "Messages the inbox gave up on (moved to the dead letters)");
        _merged = meter.CreateCounter<long>("osvi_bridge.messages.merged", "{message}", "Queued follow-ups sent to the agent in one turn with an earlier message (Bridge:MergeQueuedMessages)");
        _stopped = meter.CreateCounter<long>("osvi_bridge.messages.stopped", "{turn}", "Answers not sent because the user pressed Stop (Telegram)");
        _pollsAbandoned = meter.CreateCounter<long>("osvi_bridge.telegram.polls_abandoned", "{poll}", "getUpdates calls abandoned by the watchdog after running well past their timeout");
        _helpRequested = meter.CreateCounter<long>("osvi_bridge.help_requested", "{turn}", "Agent turns that came back with help_requested (Chat v1)");
        _handoffHelpRequests = meter.CreateCounter<long>("osvi_bridge.handoff.help_requests", "{thread}", "Help requests that opened a support thread");
        _handoffTakeovers = meter.CreateCounter<long>("osvi_bridge.handoff.takeovers", "{takeover}", "Conversations an operator took over from the agent");
        _handoffOperatorMessages = meter.CreateCounter<long>("osvi_bridge.handoff.operator_messages", "{message}", "Operators' replies relayed to users");
        _handoffHandBacks = meter.CreateCounter<long>("osvi_bridge.handoff.hand_backs", "{hand_back}", "Conversations handed back to the agent (!end)");
        _handoffFirstReply = meter.CreateHistogram<double>("osvi_bridge.handoff.first_reply", "s", "From a help request to the first operator reply",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400] });
        _agentLatency = meter.CreateHistogram<double>("osvi_bridge.agent.latency", "s", "Time OSVI took to answer one message",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120] });
        _endToEnd = meter.CreateHistogram<double>("osvi_bridge.message.duration", "s", "From receiving a message to its reply being sent",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120] });
        Meter = meter;
    }

    public Meter Meter { get; }

    /// <summary>Registers the dispatcher's gauges; called once the dispatcher exists.</summary>
    public void ObserveDispatcher(Func<int> queueDepth, Func<int> inFlight)
    {
        Meter.CreateObservableGauge("osvi_bridge.dispatcher.queue_depth", queueDepth, "{message}", "Accepted messages waiting for their turn");
        Meter.CreateObservableGauge("osvi_bridge.conversations.in_flight", inFlight, "{conversation}", "Conversations being handled right now");
    }

    /// <summary>Registers the durable inbox's gauges (the partitions this replica holds).</summary>
    public void ObserveInbox(Func<long> depth, Func<double> oldestAgeSeconds, Func<int> leasesHeld)
    {
        Meter.CreateObservableGauge("osvi_bridge.inbox.depth", depth, "{message}", "Unfinished messages in the inbox partitions this replica holds");
        Meter.CreateObservableGauge("osvi_bridge.inbox.oldest_age", oldestAgeSeconds, "s", "Age of the oldest unfinished message in the partitions this replica holds");
        Meter.CreateObservableGauge("osvi_bridge.inbox.leases", leasesHeld, "{partition}", "Inbox partitions this replica holds the lease of");
    }

    // instance: the bot or app of the platform (InboundMessage.Instance); its label is left out for the
    // default entry, so a single-bot bridge exports the series it always did.
    public void InboxRetry(string platform, string instance = "") => _inboxRetries.Add(1, Labels(platform, instance));
    public void InboxRedelivery(string platform, string instance = "") => _redeliveries.Add(1, Labels(platform, instance));
    public void InboxTakeover(int messages) => _takeovers.Add(messages);
    public void DeadLettered(string platform, string instance = "") => _deadLetters.Add(1, Labels(platform, instance));
    public void Received(string platform, string instance = "") => _received.Add(1, Labels(platform, instance));
    public void Duplicate(string platform, string instance = "") => _duplicates.Add(1, Labels(platform, instance));
    public void Answered(string platform, string instance = "") => _answered.Add(1, Labels(platform, instance));
    public void Failed(string platform, string reason, string instance = "")
    {
        var tags = Labels(platform, instance);
        tags.Add("reason", reason);
        _failed.Add(1, tags);
    }
    public void Retry(string target) => _retries.Add(1, new KeyValuePair<string, object?>("target", target));
    public void RateLimitWait(string platform, string instance = "") => _rateLimitWaits.Add(1, Labels(platform, instance));
    public void SessionCreated() => _sessionsCreated.Add(1);
    public void HelpRequested() => _helpRequested.Add(1);
    public void Merged(string platform, int followUps) => _merged.Add(followUps, Platform(platform));
    public void Stopped(string platform) => _stopped.Add(1, Platform(platform));
    public void PollAbandoned() => _pollsAbandoned.Add(1);
    public void HandoffHelpRequest(string platform) => _handoffHelpRequests.Add(1, Platform(platform));
    public void HandoffTakeover() => _handoffTakeovers.Add(1);
    public void HandoffOperatorMessage() => _handoffOperatorMessages.Add(1);
    public void HandoffHandBack() => _handoffHandBacks.Add(1);
    public void HandoffFirstReply(TimeSpan elapsed) => _handoffFirstReply.Record(elapsed.TotalSeconds);
    public void AgentLatency(TimeSpan elapsed) => _agentLatency.Record(elapsed.TotalSeconds);
    public void EndToEnd(string platform, TimeSpan elapsed, string instance = "") => _endToEnd.Record(elapsed.TotalSeconds, Labels(platform, instance));

    private static KeyValuePair<string, object?> Platform(string platform) => new("platform", platform);

    private static TagList Labels(string platform, string instance)
    {
        var tags = new TagList { { "platform", platform } };
        if (!string.IsNullOrEmpty(instance))
        {
            tags.Add("instance", instance);
        }
        return tags;
    }

}
