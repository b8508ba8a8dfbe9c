using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Adapters.Slack;

/// <summary>
/// Receives events over Slack Socket Mode. <see cref="SlackOptions.SocketConnections"/> connections
/// (default 2, as SlackNet keeps) are held open at once, the second opened once the first said hello,
/// so a refresh or a drop of one never leaves the app without a connection; Slack hands each event
/// to one of them. Every connection starts from a fresh <c>apps.connections.open</c> URL. Envelopes
/// are handed to the inbox several at a time, in ordered lanes by conversation (one conversation's
/// envelopes keep their arrival order), and each is acknowledged on the socket that delivered it as
/// soon as the inbox holds it: no Slack Web API call on that path. A lane hands every envelope
/// waiting to the inbox in one call (<see cref="IInbox.AcceptManyAsync"/>), so a burst costs a
/// round trip per batch, not per envelope. On <c>warning</c> /
/// <c>refresh_requested</c> the next connection is opened first and the old one keeps receiving and
/// acknowledging until the new one said hello; <c>link_disabled</c> stops the channel; any other
/// drop reconnects after a capped, jittered back-off.
/// </summary>
public sealed partial class SlackSocketModeClient
{
    public const string ChannelName = SlackEventParser.Platform;

    /// <summary>Ordered lanes that hand envelopes to the inbox side by side (a conversation always uses the same one).</summary>
    public const int AckLanes = 16;

    /// <summary>Envelopes a lane hands to the inbox in one call.</summary>
    private const int MaxBatch = 64;

    private static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(2);
    private const int MaxFrameBytes = 4 * 1024 * 1024;

    private readonly SlackApiClient _api;
    private readonly SlackEventIngestor _ingestor;
    private readonly ChannelStatusBoard _status;
    private readonly SlackOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SlackSocketModeClient> _logger;
    private int _connectionCount;
    private int _connected;
    private volatile string? _stoppedReason;

    public SlackSocketModeClient(SlackApiClient api, SlackEventIngestor ingestor, ChannelStatusBoard status,
        IOptions<SlackOptions> options, TimeProvider time, ILogger<SlackSocketModeClient> logger)
    {
        _api = api;
        _ingestor = ingestor;
        _status = status;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>Runs until <paramref name="stoppingToken"/> fires or Slack disables the link.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var lanes = new Channel<ReceivedEnvelope>[AckLanes];
        var processors = new Task[AckLanes];
        for (var i = 0; i < AckLanes; i++)
        {
            lanes[i] = Channel.CreateUnbounded<ReceivedEnvelope>(new UnboundedChannelOptions { SingleReader = true });
            var reader = lanes[i].Reader;
            processors[i] = Task.Run(() => ProcessEnvelopesAsync(reader, stoppingToken), CancellationToken.None);
        }
        using var stopAll = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var router = new EnvelopeRouter(lanes);
        try
        {
            var slots = new List<Task>();
            for (var i = 1; i <= _options.SocketConnections; i++)
            {
                var slot = i;
                var firstHello = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                slots.Add(Task.Run(() => MaintainConnectionAsync(slot, router, firstHello, stopAll), CancellationToken.None));
                // Staggered: the next connection is opened once this one is up (or gave up), never all at once.
                await Task.WhenAny(firstHello.Task, slots[^1]).WaitAsync(stoppingToken);
            }
            await Task.WhenAll(slots);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            await stopAll.CancelAsync();
            foreach (var lane in lanes)
            {
                lane.Writer.TryComplete();
            }
            await Task.WhenAll(processors).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _status.Report(_options.ChannelName, false, _stoppedReason ?? "stopped");
        }
    }

    private async Task MaintainConnectionAsync(int slot, EnvelopeRouter envelopes, TaskCompletionSource firstHello, CancellationTokenSource stopAll)
    {
        var stoppingToken = stopAll.Token;
        SocketConnection? current = null;
        var failures = 0;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (current is null)
                {
                    try
                    {
                        current = await ConnectAsync(envelopes, stoppingToken);
                        failures = 0;
                        firstHello.TrySetResult();
                    }
                    catch (SlackApiException ex) when (ex.IsAuthenticationError)
                    {
                        Stop($"Slack refused Slack:AppToken ({ex.Error})", stopAll);
                        LogAppTokenRefused(_logger, ex.Error);
                        return;
                    }
                    catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                    {
                        failures++;
                        var delay = Backoff(failures);
                        ReportConnections($"slot {slot} cannot connect ({ex.GetType().Name}), retrying");
                        LogConnectFailed(_logger, ex, delay.TotalMilliseconds);
                        firstHello.TrySetResult();
                        await Task.Delay(delay, _time, stoppingToken);
                        continue;
                    }
                }

                await Task.WhenAny(current.Receiving, current.RefreshRequested).WaitAsync(stoppingToken);
                if (current.Receiving.IsCompleted)
                {
                    var end = await current.Receiving;
                    await CloseAsync(current, drain: false);
                    current = null;
                    if (end.LinkDisabled)
                    {
                        Stop("link_disabled: Socket Mode was turned off for this Slack app", stopAll);
                        LogLinkDisabled(_logger);
                        return;
                    }
                    failures++;
                    var delay = Backoff(failures);
                    ReportConnections($"slot {slot} reconnecting ({end.Reason})");
                    LogDropped(_logger, end.Reason, delay.TotalMilliseconds);
                    await Task.Delay(delay, _time, stoppingToken);
                    continue;
                }

                // Refresh: the old connection keeps receiving and acknowledging until the new one said hello.
                var reason = await current.RefreshRequested;
                LogRefreshing(_logger, current.Number, reason);
                SocketConnection next;
                try
                {
                    next = await ConnectAsync(envelopes, stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogConnectFailed(_logger, ex, 0);
                    await CloseAsync(current, drain: true);
                    current = null;
                    failures++;
                    await Task.Delay(Backoff(failures), _time, stoppingToken);
                    continue;
                }
                var old = current;
                current = next;
                await CloseAsync(old, drain: true);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            firstHello.TrySetResult();
            if (current is not null)
            {
                await CloseAsync(current, drain: false);
            }
        }
    }

    /// <summary>Slack ended the link for good (or refused the token): every connection stops, the reason stays on /readyz.</summary>
    private void Stop(string reason, CancellationTokenSource stopAll)
    {
        _stoppedReason = reason;
        _status.Report(_options.ChannelName, false, reason);
        stopAll.Cancel();
    }

    private async Task CloseAsync(SocketConnection connection, bool drain)
    {
        if (await connection.CloseAsync(drain))
        {
            Interlocked.Decrement(ref _connected);
            ReportConnections("connection closed");
        }
    }

    private void ReportConnections(string detail)
    {
        if (_stoppedReason is not null)
        {
            return;
        }
        var open = Volatile.Read(ref _connected);
        _status.Report(_options.ChannelName, open > 0, $"socket mode: {open} of {_options.SocketConnections} connection(s) open; {detail}");
    }

    private async Task<SocketConnection> ConnectAsync(EnvelopeRouter envelopes, CancellationToken cancellationToken)
    {
        var url = await _api.OpenSocketConnectionAsync(cancellationToken);
        var socket = new ClientWebSocket();
        // Slack pings; ClientWebSocket answers only while a receive is pending (ours always is).
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(30);
        socket.Options.KeepAliveTimeout = TimeSpan.FromSeconds(30);
        var connection = new SocketConnection(Interlocked.Increment(ref _connectionCount), socket, _time);
        try
        {
            using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                connectTimeout.CancelAfter(_options.RequestTimeout);
                await socket.ConnectAsync(url, connectTimeout.Token);
            }
            connection.Receiving = Task.Run(() => ReceiveAsync(connection, envelopes), CancellationToken.None);
            await Task.WhenAny(connection.Hello, connection.Receiving).WaitAsync(HelloTimeout, _time, cancellationToken);
            if (!connection.Hello.IsCompleted)
            {
                throw new WebSocketException($"Socket Mode connection #{connection.Number} ended before hello.");
            }
        }
        catch
        {
            await connection.CloseAsync(drain: false);
            throw;
        }

        connection.Opened = true;
        Interlocked.Increment(ref _connected);
        ReportConnections($"#{connection.Number} connected");
        LogConnected(_logger, connection.Number, url.Host);
        return connection;
    }

    private async Task<ConnectionEnd> ReceiveAsync(SocketConnection connection, EnvelopeRouter envelopes)
    {
        var buffer = new byte[16 * 1024];
        using var frame = new MemoryStream();
        try
        {
            while (true)
            {
                frame.SetLength(0);
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await connection.Socket.ReceiveAsync(buffer.AsMemory(), connection.Lifetime);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return new ConnectionEnd($"closed by Slack ({connection.Socket.CloseStatus})", LinkDisabled: false);
                    }
                    frame.Write(buffer, 0, result.Count);
                    if (frame.Length > MaxFrameBytes)
                    {
                        return new ConnectionEnd("frame too large", LinkDisabled: false);
                    }
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Text
                    && HandleFrame(connection, frame.GetBuffer().AsMemory(0, (int)frame.Length), envelopes) is { } end)
                {
                    return end;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            return new ConnectionEnd($"dropped ({ex.GetType().Name})", LinkDisabled: false);
        }
    }

    private ConnectionEnd? HandleFrame(SocketConnection connection, ReadOnlyMemory<byte> frame, EnvelopeRouter envelopes)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(frame);
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            LogBadFrame(_logger, connection.Number);
            return null;
        }
        if (root.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var type = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (type == "hello")
        {
            connection.SignalHello();
            return null;
        }
        if (type == "disconnect")
        {
            var reason = root.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() ?? "" : "";
            if (reason == "link_disabled")
            {
                return new ConnectionEnd(reason, LinkDisabled: true);
            }
            connection.SignalRefresh(reason);
            return null;
        }
        if (root.TryGetProperty("envelope_id", out var id) && id.ValueKind == JsonValueKind.String && id.GetString() is { Length: > 0 } envelopeId)
        {
            var payload = root.TryGetProperty("payload", out var p) ? p : default;
            var retry = root.TryGetProperty("retry_attempt", out var a) && a.TryGetInt32(out var n) ? n : 0;
            SlackUserMessage? message = null;
            string? ephemeral = null;
            try
            {
                if (type == "events_api")
                {
                    message = _ingestor.Parse(payload);
                }
                else if (type == "slash_commands" && payload.ValueKind == JsonValueKind.Object)
                {
                    var command = _ingestor.ParseCommand(name => payload.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null);
                    (message, ephemeral) = (command.Message, command.EphemeralText);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or JsonException or ArgumentException)
            {
                // A payload we cannot read is acknowledged and dropped: redelivering it cannot help.
                LogEnvelopeFailed(_logger, ex, envelopeId, 1);
            }
            connection.EnvelopeQueued();
            envelopes.Route(new ReceivedEnvelope(connection, envelopeId, type ?? "", message, retry, ephemeral));
            return null;
        }
        LogUnknownFrame(_logger, type ?? "-");
        return null;
    }

    /// <summary>
    /// One lane: takes every envelope waiting (up to <see cref="MaxBatch"/>), hands their messages to
    /// the inbox together (one round trip, in arrival order) and acknowledges each at once.
    /// </summary>
    private async Task ProcessEnvelopesAsync(ChannelReader<ReceivedEnvelope> envelopes, CancellationToken stoppingToken)
    {
        var batch = new List<ReceivedEnvelope>(MaxBatch);
        var messages = new List<SlackUserMessage>(MaxBatch);
        try
        {
            while (await envelopes.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                messages.Clear();
                while (batch.Count < MaxBatch && envelopes.TryRead(out var envelope))
                {
                    batch.Add(envelope);
                    if (envelope.Message is { } message)
                    {
                        messages.Add(message);
                    }
                }
                try
                {
                    var outcomes = messages.Count > 0 ? await _ingestor.AcceptManyAsync(messages, stoppingToken) : [];
                    var next = 0;
                    foreach (var envelope in batch)
                    {
                        var outcome = envelope.Message is null ? SlackIngestOutcome.Ignored : outcomes[next++];
                        LogEnvelope(_logger, envelope.EnvelopeId, envelope.Type, envelope.RetryAttempt, outcome);
                        await AcknowledgeAsync(envelope, stoppingToken);
                    }
                }
                catch (InboxClosedException)
                {
                    // Not acknowledged: Slack delivers them again, to us after a restart or to another replica.
                    LogInboxClosed(_logger, batch[0].EnvelopeId, batch.Count);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Not acknowledged: Slack redelivers, and the inbox drops what it had taken after all.
                    LogEnvelopeFailed(_logger, ex, batch[0].EnvelopeId, batch.Count);
                }
                finally
                {
                    foreach (var envelope in batch)
                    {
                        envelope.Connection.EnvelopeDone();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: what is left is unacknowledged and will be redelivered.
        }
    }

    private async Task AcknowledgeAsync(ReceivedEnvelope envelope, CancellationToken stoppingToken)
    {
        try
        {
            await envelope.Connection.AcknowledgeAsync(envelope.EnvelopeId, envelope.AckText, stoppingToken);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The delivering socket is gone; Slack redelivers the envelope and the inbox drops the copy.
            LogAckFailed(_logger, envelope.EnvelopeId, envelope.Connection.Number, ex.GetType().Name);
        }
    }

    private TimeSpan Backoff(int failures)
    {
        var exponent = Math.Min(failures - 1, 16);
        var capped = Math.Min(_options.MaxReconnectDelay.TotalMilliseconds, _options.ReconnectDelay.TotalMilliseconds * Math.Pow(2, exponent));
        // Jitter keeps many replicas from reconnecting in lockstep after a Slack-wide drop.
        return TimeSpan.FromMilliseconds(capped * (0.5 + (Random.Shared.NextDouble() * 0.5)));
    }

    /// <summary>An envelope to acknowledge, with the message it carries and, for a slash command, the ephemeral answer of the acknowledgement.</summary>
    private sealed record ReceivedEnvelope(SocketConnection Connection, string EnvelopeId, string Type, SlackUserMessage? Message, int RetryAttempt,
        string? AckText = null);

    /// <summary>
    /// Spreads envelopes over the lanes: one conversation always to the same lane (its order kept),
    /// envelopes without a message to answer round-robin (they are only acknowledged).
    /// </summary>
    private sealed class EnvelopeRouter(Channel<ReceivedEnvelope>[] lanes)
    {
        private int _next;

        public void Route(ReceivedEnvelope envelope)
        {
            var index = envelope.Message is { } message
                ? (int)((uint)StringComparer.Ordinal.GetHashCode(message.Conversation.Value) % (uint)lanes.Length)
                : (int)((uint)Interlocked.Increment(ref _next) % (uint)lanes.Length);
            if (!lanes[index].Writer.TryWrite(envelope))
            {
                // Stopping: left unacknowledged, Slack redelivers it.
                envelope.Connection.EnvelopeDone();
            }
        }
    }

    private sealed record ConnectionEnd(string Reason, bool LinkDisabled);

    /// <summary>One WebSocket: its receive loop, its signals and a send lock (one send at a time per socket).</summary>
    private sealed class SocketConnection(int number, ClientWebSocket socket, TimeProvider time)
    {
        private readonly TaskCompletionSource _hello = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<string> _refresh = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly SemaphoreSlim _sendLock = new(1, 1);
        private readonly CancellationTokenSource _lifetime = new();
        private int _pending;
        private int _closing;
        private int _closed;

        public int Number { get; } = number;
        public ClientWebSocket Socket { get; } = socket;
        public CancellationToken Lifetime => _lifetime.Token;
        public Task Hello => _hello.Task;
        public Task<string> RefreshRequested => _refresh.Task;
        public Task<ConnectionEnd> Receiving { get; set; } = Task.FromResult(new ConnectionEnd("not started", false));

        /// <summary>Said hello and was counted as open.</summary>
        public bool Opened { get; set; }

        public void SignalHello() => _hello.TrySetResult();

        public void SignalRefresh(string reason) => _refresh.TrySetResult(reason);

        public void EnvelopeQueued() => Interlocked.Increment(ref _pending);

        public void EnvelopeDone()
        {
            if (Interlocked.Decrement(ref _pending) == 0 && Volatile.Read(ref _closing) == 1)
            {
                _drained.TrySetResult();
            }
        }

        public async Task AcknowledgeAsync(string envelopeId, string? ephemeralText, CancellationToken cancellationToken)
        {
            var ack = JsonSerializer.SerializeToUtf8Bytes(
                new SlackSocketAck(envelopeId, ephemeralText is null ? null : new SlackEphemeralResponse(ephemeralText)), SlackJsonContext.Default.SlackSocketAck);
            await _sendLock.WaitAsync(cancellationToken);
            try
            {
                await Socket.SendAsync(ack, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
            }
            finally
            {
                _sendLock.Release();
            }
        }

        /// <summary>
        /// Waits (briefly) for this socket's envelopes to be acknowledged, then closes it politely, then
        /// for good. True when this call closed a connection that had been counted as open.
        /// </summary>
        public async Task<bool> CloseAsync(bool drain)
        {
            if (Interlocked.Exchange(ref _closed, 1) == 1)
            {
                return false;
            }
            Volatile.Write(ref _closing, 1);
            if (drain && Volatile.Read(ref _pending) > 0)
            {
                await _drained.Task.WaitAsync(DrainTimeout, time).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            try
            {
                if (Socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    using var grace = new CancellationTokenSource(CloseGrace, time);
                    await _sendLock.WaitAsync(grace.Token);
                    try
                    {
                        await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "refresh", grace.Token);
                    }
                    finally
                    {
                        _sendLock.Release();
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                // Closing politely is a courtesy; abort below regardless.
            }
            // Slack sometimes leaves TCP open after a close: wait a moment for its close frame, then abort.
            await ((Task)Receiving).WaitAsync(CloseGrace, time).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            Socket.Abort();
            await _lifetime.CancelAsync();
            await ((Task)Receiving).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            Socket.Dispose();
            _lifetime.Dispose();
            _sendLock.Dispose();
            return Opened;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack Socket Mode connection #{Number} open to {Host}")]
    private static partial void LogConnected(ILogger logger, int number, string host);

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack asked to refresh connection #{Number} ({Reason}); opening the next one first")]
    private static partial void LogRefreshing(ILogger logger, int number, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack Socket Mode connection lost: {Reason}; reconnecting in {DelayMs:0} ms")]
    private static partial void LogDropped(ILogger logger, string reason, double delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not open a Slack Socket Mode connection; retrying in {DelayMs:0} ms")]
    private static partial void LogConnectFailed(ILogger logger, Exception exception, double delayMs);

    [LoggerMessage(Level = LogLevel.Critical,
        Message = "Slack refused Slack:AppToken ({Error}); Socket Mode stopped. Set Slack__AppToken to an app-level token (xapp-…) with connections:write")]
    private static partial void LogAppTokenRefused(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Critical,
        Message = "Slack disabled the Socket Mode link (link_disabled): Socket Mode was turned off for the app; the Slack channel stopped receiving")]
    private static partial void LogLinkDisabled(ILogger logger);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Slack envelope {EnvelopeId} ({Type}, retry {RetryAttempt}): {Outcome}")]
    private static partial void LogEnvelope(ILogger logger, string envelopeId, string type, int retryAttempt, SlackIngestOutcome outcome);

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack envelope {EnvelopeId} (and {Count} in its batch) not acknowledged: the bridge is shutting down")]
    private static partial void LogInboxClosed(ILogger logger, string envelopeId, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not acknowledge Slack envelope {EnvelopeId} on connection #{Number} ({ErrorKind}); Slack will redeliver it")]
    private static partial void LogAckFailed(ILogger logger, string envelopeId, int number, string errorKind);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling Slack envelope {EnvelopeId} (batch of {Count}) failed; not acknowledged, Slack will redeliver")]
    private static partial void LogEnvelopeFailed(ILogger logger, Exception exception, string envelopeId, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored a Socket Mode frame on connection #{Number} that is not JSON")]
    private static partial void LogBadFrame(ILogger logger, int number);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ignored a Socket Mode frame of type {Type}")]
    private static partial void LogUnknownFrame(ILogger logger, string type);
}
