using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Messaging;
using Osvi.Bridge.Storage;
using Osvi.Bridge.Telemetry;
using StackExchange.Redis;

namespace Osvi.Bridge.Dispatching;

/// <summary>
/// The durable inbox, shared by every replica on one Redis: Kafka's consumer-group shape on Redis
/// Streams. A conversation always maps to one of <see cref="InboxOptions.Partitions"/> streams; accepting
/// is one <c>XADD</c> (the platform is acknowledged after it). Each partition is worked on by one replica
/// at a time, the holder of its lease (<c>SET NX PX</c>, renewed), so a conversation's messages are
/// handled strictly in order across replicas; within its partitions a replica runs conversations side by
/// side on the <see cref="ConversationScheduler"/>. Replicas share the partitions evenly (each takes its
/// share of the live replicas' count); a dead replica's leases expire and its partitions, with the
/// entries it had read and not finished (the group's pending list, <c>XAUTOCLAIM</c>), are taken over
/// within <see cref="InboxOptions.LeaseTimeout"/>. An entry is acknowledged and deleted only when its
/// message was answered or dead-lettered; a replay reads the message's journal so nothing is sent twice.
/// </summary>
public sealed partial class RedisStreamInbox : IInbox, IHostedService, IDisposable
{
    private const string Group = "bridge";

    // Acknowledge, delete and forget the journals of a turn's entries (ARGV[i] with its record KEYS[i], from 2
    // on): all keys of one partition, one step, so a merged turn's follow-ups never outlive their lead.
    private const string CompleteScript = """
        for i = 2, #ARGV do
          redis.call('xack', KEYS[1], ARGV[1], ARGV[i])
          redis.call('xdel', KEYS[1], ARGV[i])
          redis.call('del', KEYS[i])
        end
        return 1
        """;

    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RecoveryInterval = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan StoreRetryDelay = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxStoreRetryDelay = TimeSpan.FromSeconds(5);

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly DeliveryRunner _runner;
    private readonly HandledMessages _handled;
    private readonly InboxOptions _options;
    private readonly BridgeOptions _bridge;
    private readonly TimeProvider _time;
    private readonly BridgeMetrics _metrics;
    private readonly ILogger<RedisStreamInbox> _logger;
    private readonly ConversationScheduler _scheduler;
    private readonly SemaphoreSlim _room;
    private readonly ConcurrentDictionary<int, Partition> _held = new();
    // Entries read and not finished, by "partition/entry id", across lease changes of a partition.
    private readonly ConcurrentDictionary<string, byte> _inHand = new(StringComparer.Ordinal);
    // Only entries read fresh are merged: a replayed one repeats what its journal says it did.
    private readonly ConversationBacklog<PendingEntry> _backlog = new(static e => e.Message, static e => e.Message is not null && !e.Replay);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private Task _ownership = Task.CompletedTask;
    private long _depth;
    private double _oldestAgeSeconds;
    private int _closed;

    public RedisStreamInbox(IConnectionMultiplexer redis, RedisKeys keys, DeliveryRunner runner, HandledMessages handled,
        IOptions<InboxOptions> options, IOptions<BridgeOptions> bridge, TimeProvider time, BridgeMetrics metrics, ILogger<RedisStreamInbox> logger)
    {
        _redis = redis;
        _keys = keys;
        _runner = runner;
        _handled = handled;
        _options = options.Value;
        _bridge = bridge.Value;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _scheduler = new ConversationScheduler(_bridge.MaxConcurrency);
        _room = new SemaphoreSlim(_bridge.QueueCapacity, _bridge.QueueCapacity);
        ReplicaId = string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}");
        metrics.ObserveDispatcher(() => Math.Max(0, _scheduler.Pending - _scheduler.Running), () => _scheduler.Running);
        metrics.ObserveInbox(() => Volatile.Read(ref _depth), () => Volatile.Read(ref _oldestAgeSeconds), () => _held.Count);
    }

    /// <summary>This process's name among the replicas (its consumer name in every partition's group).</summary>
    public string ReplicaId { get; }

    /// <summary>Messages this replica read and has not finished (waiting for their turn plus in flight).</summary>
    public int Pending => _scheduler.Pending;

    /// <summary>The partitions this replica works on right now.</summary>
    public IReadOnlyCollection<int> HeldPartitions => _held.Keys.ToList();

    /// <summary>The partition of a conversation: a stable hash, the same in every replica and build.</summary>
    public static int PartitionOf(ConversationKey conversation, int partitions)
    {
        // FNV-1a over the key's UTF-16 code units: string.GetHashCode is randomized per process.
        var hash = 2166136261u;
        foreach (var c in conversation.Value)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return (int)(hash % (uint)partitions);
    }

    public async ValueTask<InboxReceipt> AcceptAsync(InboundMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return (await AcceptManyAsync([message], cancellationToken))[0];
    }

    public async ValueTask<IReadOnlyList<InboxReceipt>> AcceptManyAsync(IReadOnlyList<InboundMessage> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (Volatile.Read(ref _closed) == 1)
        {
            throw new InboxClosedException();
        }
        var database = _redis.GetDatabase();
        // Issued together, the XADDs share round trips (StackExchange.Redis pipelines them) and are
        // applied in call order, so one conversation's messages keep their order within the batch.
        var partitions = new int[messages.Count];
        var adds = new Task<RedisValue>[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            partitions[i] = PartitionOf(messages[i].Conversation, _options.Partitions);
            adds[i] = database.StreamAddAsync(_keys.InboxStream(partitions[i]), "m", StoredMessage.Serialize(messages[i]));
        }
        // For a partition this replica works on, read the new entries in the same round trip as the
        // XADDs (Redis runs them after the XADDs), so a message that can start does not wait for the
        // reader to be woken and to read it (bench/README.md). Under the partition's read lock, as the
        // reader reads, so entries are dispatched in stream order; if the reader holds it, it reads them.
        var reads = new List<(Partition Partition, int Room, Task<StreamEntry[]> Entries)>();
        var subscriber = _redis.GetSubscriber();
        foreach (var partition in partitions.Distinct())
        {
            if (!_held.TryGetValue(partition, out var held))
            {
                await subscriber.PublishAsync(_keys.InboxSignal, partition, CommandFlags.FireAndForget);
            }
            else if (held.TryBeginRead())
            {
                var room = TakeRoom();
                if (room > 0)
                {
                    reads.Add((held, room, database.StreamReadGroupAsync(_keys.InboxStream(partition), Group, ReplicaId, StreamPosition.NewMessages, room)));
                }
                else
                {
                    held.EndRead();
                    held.Wake();
                }
            }
            else
            {
                held.Wake();
            }
        }
        try
        {
            await Task.WhenAll(adds);
        }
        finally
        {
            foreach (var read in reads)
            {
                await DispatchReadAsync(read.Partition, read.Room, read.Entries);
            }
        }
        var receipts = new InboxReceipt[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            _metrics.Received(messages[i].Platform, messages[i].Instance);
            receipts[i] = new InboxReceipt(InboxOutcome.Accepted);
        }
        return receipts;
    }

    /// <summary>Takes up to 100 permits of the inbox's room without waiting; the unused ones are given back after the read.</summary>
    private int TakeRoom()
    {
        var room = 0;
        while (room < 100 && _room.Wait(0))
        {
            room++;
        }
        return room;
    }

    /// <summary>Dispatches what an accept's read returned, in stream order, then lets the partition be read again.</summary>
    private async Task DispatchReadAsync(Partition partition, int room, Task<StreamEntry[]> read)
    {
        var more = true;
        try
        {
            var entries = await read;
            if (room > entries.Length)
            {
                _room.Release(room - entries.Length);
            }
            foreach (var entry in entries)
            {
                Dispatch(partition, entry, previousAttempts: 0, replay: false);
            }
            // A full read may have left entries behind; otherwise other replicas' entries come with their own signal.
            more = entries.Length == room;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The reader reads them (and recovers what a lost reply left pending).
            _room.Release(room);
            LogReadFailed(_logger, partition.Number, ex.GetType().Name, ex.Message, TimeSpan.Zero);
        }
        finally
        {
            partition.EndRead();
            if (more)
            {
                partition.Wake();
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        LogStarted(_logger, ReplicaId, _options.Partitions, _options.LeaseTimeout);
        // In the background, so the bridge starts (and /healthz answers) while Redis is still away.
        _ownership = Task.Run(() => KeepOwnershipAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task SubscribeAsync()
    {
        await _redis.GetSubscriber().SubscribeAsync(_keys.InboxSignal, (_, value) =>
        {
            if (value.TryParse(out int partition) && _held.TryGetValue(partition, out var held))
            {
                held.Wake();
            }
        });
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _closed, 1);
        await _stopping.CancelAsync();
        await _ownership.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var partition in _held.Values)
        {
            partition.StopReading();
        }
        await Task.WhenAll(_held.Values.Select(p => p.Reader)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

        if (_scheduler.Pending > 0)
        {
            LogDraining(_logger, _scheduler.Pending, _bridge.ShutdownTimeout);
        }
        await _scheduler.DrainAsync(_bridge.ShutdownTimeout, async left =>
        {
            LogLeaving(_logger, left);
            await _abort.CancelAsync();
        }, cancellationToken);

        // What was not finished stays in the partitions' pending lists; giving the leases back lets
        // another replica (or the next start) take it over at once instead of after the lease timeout.
        var database = _redis.GetDatabase();
        try
        {
            await Task.WhenAll(_held.Keys.Select(p => RedisLease.ReleaseAsync(database, _keys.InboxLease(p), ReplicaId)));
            await database.SortedSetRemoveAsync(_keys.Replicas, ReplicaId);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogReleaseFailed(_logger, ex.Message);
        }
        _held.Clear();
        try
        {
            await _redis.GetSubscriber().UnsubscribeAsync(_keys.InboxSignal);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogReleaseFailed(_logger, ex.Message);
        }
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _abort.Dispose();
        _room.Dispose();
    }

    /// <summary>
    /// Every <see cref="InboxOptions.RenewInterval"/>: heartbeat, renew held leases, take free partitions up
    /// to this replica's share, give back those above it (after finishing what it read from them).
    /// </summary>
    private async Task KeepOwnershipAsync(CancellationToken stopping)
    {
        var random = new Random();
        var subscribed = false;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (!subscribed)
                {
                    // Once: the client re-subscribes by itself after a reconnect.
                    await SubscribeAsync();
                    subscribed = true;
                }
                await BalanceAsync(random);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                LogOwnershipFailed(_logger, ex.GetType().Name, ex.Message);
            }
            await Task.Delay(_options.RenewInterval, _time, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task BalanceAsync(Random random)
    {
        var database = _redis.GetDatabase();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var ttl = _options.LeaseTtl;
        var batch = database.CreateBatch();
        var beat = batch.SortedSetAddAsync(_keys.Replicas, ReplicaId, now + (long)ttl.TotalMilliseconds);
        var pruned = batch.SortedSetRemoveRangeByScoreAsync(_keys.Replicas, double.NegativeInfinity, now);
        var count = batch.SortedSetLengthAsync(_keys.Replicas);
        batch.Execute();
        await Task.WhenAll(beat, pruned, count);
        var live = Math.Max(1, (int)await count);

        foreach (var (number, partition) in _held)
        {
            if (partition.Released)
            {
                _held.TryRemove(new KeyValuePair<int, Partition>(number, partition));
                continue;
            }
            if (!await RedisLease.RenewAsync(database, _keys.InboxLease(number), ReplicaId, ttl))
            {
                // It expired (this replica stalled) and may be someone else's now: stop reading it.
                LogLeaseLost(_logger, number);
                partition.StopReading();
                _held.TryRemove(new KeyValuePair<int, Partition>(number, partition));
            }
        }

        var share = (_options.Partitions + live - 1) / live;
        var active = _held.Values.Where(p => !p.Draining).ToList();
        if (active.Count > share)
        {
            foreach (var extra in active.Take(active.Count - share))
            {
                LogReleasing(_logger, extra.Number, live);
                _ = ReleaseWhenDrainedAsync(extra);
            }
        }
        else if (active.Count < share)
        {
            var candidates = Enumerable.Range(0, _options.Partitions).Where(p => !_held.ContainsKey(p)).OrderBy(_ => random.Next()).ToList();
            foreach (var number in candidates)
            {
                if (active.Count >= share)
                {
                    break;
                }
                if (await RedisLease.TryAcquireAsync(database, _keys.InboxLease(number), ReplicaId, ttl))
                {
                    var partition = new Partition(number);
                    _held[number] = partition;
                    active.Add(partition);
                    partition.Reader = Task.Run(() => ReadPartitionAsync(partition), CancellationToken.None);
                }
            }
        }
        await SampleDepthAsync(database);
    }

    private async Task ReleaseWhenDrainedAsync(Partition partition)
    {
        partition.Draining = true;
        partition.StopReading();
        await partition.Reader.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        // An accept's read under way finishes (and counts its entries) before "drained" is judged.
        await partition.BeginReadAsync(CancellationToken.None);
        partition.EndRead();
        await partition.Drained.WaitAsync(_stopping.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_stopping.IsCancellationRequested)
        {
            return; // StopAsync gives every lease back.
        }
        try
        {
            await RedisLease.ReleaseAsync(_redis.GetDatabase(), _keys.InboxLease(partition.Number), ReplicaId);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogReleaseFailed(_logger, ex.Message);
        }
        partition.Released = true;
    }

    private async Task SampleDepthAsync(IDatabase database)
    {
        long depth = 0;
        double oldest = 0;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var number in _held.Keys)
        {
            var key = _keys.InboxStream(number);
            var length = database.StreamLengthAsync(key);
            var first = database.StreamRangeAsync(key, "-", "+", 1);
            depth += await length;
            if ((await first) is [var entry] && TryEntryTime(entry.Id, out var ms))
            {
                oldest = Math.Max(oldest, (now - ms) / 1000.0);
            }
        }
        Volatile.Write(ref _depth, depth);
        Volatile.Write(ref _oldestAgeSeconds, oldest);
    }

    private static bool TryEntryTime(RedisValue id, out long unixMs)
    {
        var text = id.ToString();
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        return long.TryParse(dash < 0 ? text : text[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out unixMs);
    }

    /// <summary>
    /// Works on one held partition: first what is unfinished in its group (a previous holder's, oldest
    /// first, with their delivery counts), then new entries as they come, as many as the inbox has room
    /// for. The unfinished ones are looked for again after a Redis error and every
    /// <see cref="RecoveryInterval"/>: an <c>XREADGROUP</c> whose reply a broken connection lost leaves
    /// entries pending for this replica that it never saw.
    /// </summary>
    private async Task ReadPartitionAsync(Partition partition)
    {
        var database = _redis.GetDatabase();
        var key = _keys.InboxStream(partition.Number);
        var token = partition.Reading;
        var delay = TimeSpan.Zero;
        var recoverAt = long.MinValue;
        while (!token.IsCancellationRequested)
        {
            try
            {
                if (_time.GetTimestamp() >= recoverAt)
                {
                    await partition.BeginReadAsync(token);
                    try
                    {
                        await EnsureGroupAsync(database, key);
                        await ClaimUnfinishedAsync(database, partition, key, token);
                        // From now on an accept may read the partition too: nothing older is left to go first.
                        partition.Ready = true;
                    }
                    finally
                    {
                        partition.EndRead();
                    }
                    recoverAt = _time.GetTimestamp() + (long)(RecoveryInterval.TotalSeconds * _time.TimestampFrequency);
                }
                await _room.WaitAsync(token);
                var room = 1 + TakeRoom();
                StreamEntry[] entries;
                try
                {
                    await partition.BeginReadAsync(token);
                }
                catch
                {
                    _room.Release(room);
                    throw;
                }
                try
                {
                    try
                    {
                        entries = await database.StreamReadGroupAsync(key, Group, ReplicaId, StreamPosition.NewMessages, room);
                    }
                    catch
                    {
                        _room.Release(room);
                        throw;
                    }
                    // One permit stays with each entry until it is finished; the unused ones go back.
                    if (room > entries.Length)
                    {
                        _room.Release(room - entries.Length);
                    }
                    foreach (var entry in entries)
                    {
                        Dispatch(partition, entry, previousAttempts: 0, replay: false);
                    }
                }
                finally
                {
                    partition.EndRead();
                }
                delay = TimeSpan.Zero;
                if (entries.Length < room)
                {
                    await partition.WaitForSignalAsync(PollInterval, token);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                delay = delay == TimeSpan.Zero ? StoreRetryDelay : TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxStoreRetryDelay.Ticks));
                LogReadFailed(_logger, partition.Number, ex.GetType().Name, ex.Message, delay);
                recoverAt = long.MinValue;
                await Task.Delay(delay, _time, token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private static async Task EnsureGroupAsync(IDatabase database, RedisKey key)
    {
        try
        {
            await database.StreamCreateConsumerGroupAsync(key, Group, StreamPosition.Beginning, createStream: true);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // The group is there already: the usual case.
        }
    }

    /// <summary>
    /// Claims every entry pending in the partition's group that this replica is not handling: the lease
    /// is ours, so they belong to no one alive (a dead holder's, or ours with a lost reply). Oldest first,
    /// so they run before anything newer of their conversations.
    /// </summary>
    private async Task ClaimUnfinishedAsync(IDatabase database, Partition partition, RedisKey key, CancellationToken token)
    {
        var pending = new List<StreamPendingMessageInfo>();
        RedisValue from = "-";
        while (!token.IsCancellationRequested)
        {
            var page = await database.StreamPendingMessagesAsync(key, Group, 500, RedisValue.Null, from, "+");
            pending.AddRange(page.Where(p => !_inHand.ContainsKey(InHandKey(partition.Number, p.MessageId.ToString()))));
            if (page.Length < 500)
            {
                break;
            }
            from = "(" + page[^1].MessageId;
        }
        if (pending.Count == 0)
        {
            return;
        }
        var deliveries = pending.ToDictionary(p => p.MessageId.ToString(), p => p.DeliveryCount, StringComparer.Ordinal);
        var claimed = new List<StreamEntry>();
        foreach (var chunk in pending.Chunk(100))
        {
            claimed.AddRange((await database.StreamClaimAsync(key, Group, ReplicaId, 0, chunk.Select(p => p.MessageId).ToArray())).Where(e => !e.IsNull));
        }
        if (claimed.Count == 0)
        {
            return;
        }
        LogTakeover(_logger, partition.Number, claimed.Count);
        _metrics.InboxTakeover(claimed.Count);
        foreach (var entry in claimed.OrderBy(e => e.Id.ToString(), EntryIdComparer.Instance))
        {
            await _room.WaitAsync(token);
            // Delivered that many times before, none of them finished.
            Dispatch(partition, entry, deliveries.GetValueOrDefault(entry.Id.ToString(), 1), replay: true);
        }
    }

    private static string InHandKey(int partition, string entryId) => string.Create(CultureInfo.InvariantCulture, $"{partition}/{entryId}");

    private void Dispatch(Partition partition, StreamEntry entry, int previousAttempts, bool replay)
    {
        var id = entry.Id.ToString();
        var json = entry["m"];
        var message = StoredMessage.Deserialize(json.IsNull ? null : json.ToString());
        partition.Began();
        _inHand[InHandKey(partition.Number, id)] = 0;
        // An unreadable entry has no conversation; it goes through the scheduler on its own key.
        var conversation = message?.Conversation.Value ?? "unreadable:" + id;
        _backlog.Add(conversation, new PendingEntry(partition, id, message, json, previousAttempts, replay));
        _scheduler.Schedule(conversation, () => HandleTurnAsync(conversation));
    }

    private async Task HandleTurnAsync(string conversation)
    {
        var turn = _backlog.TakeTurn(conversation, _bridge.MergeQueuedMessages, _bridge.MaxInboundLength);
        if (turn.Count == 0)
        {
            return; // An earlier turn took this entry along.
        }
        try
        {
            if (_abort.IsCancellationRequested)
            {
                return; // Left pending for whoever holds the partition next.
            }
            if (turn.Count == 1)
            {
                await HandleEntryAsync(turn[0]);
            }
            else
            {
                await HandleMergedAsync(turn);
            }
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            // Left pending: the next holder of the partition replays it.
        }
        finally
        {
            foreach (var entry in turn)
            {
                // After the entry was finished (or left): a recovery never sees it pending and not in hand.
                _inHand.TryRemove(InHandKey(entry.Partition.Number, entry.EntryId), out _);
                _room.Release();
                entry.Partition.Ended();
            }
        }
    }

    private async Task HandleEntryAsync(PendingEntry entry)
    {
        var (partition, entryId, message, raw, previousAttempts, replay) = entry;
        var database = _redis.GetDatabase();
        if (message is null)
        {
            await UntilStoredAsync(() => DeadLetterAsync(database, partition.Number, [entryId], raw, "unreadable inbox entry", previousAttempts + 1));
            return;
        }
        // The relay's scope names the message; this adds where it sits in the inbox.
        using var scope = _logger.BeginScope(new LogFields(new("InboxPartition", partition.Number), new("InboxEntry", entryId)));
        if (replay)
        {
            _metrics.InboxRedelivery(message.Platform, message.Instance);
        }
        // The seen marker holds the id of the entry that took the event first: another entry with the
        // same event is a redelivery, while this entry coming back after a crash is not.
        var first = await UntilStoredAsync(() => MarkSeenAsync(database, message, entryId));
        if (!first)
        {
            LogDuplicate(_logger, message.Platform, message.MessageId);
            _metrics.Duplicate(message.Platform, message.Instance);
            await UntilStoredAsync(() => CompleteAsync(database, partition.Number, [entryId]));
            _handled.Report(message, DeliveryResult.Finished);
            return;
        }
        var recordKey = _keys.InboxRecord(partition.Number, entryId);
        var journal = replay
            ? await UntilStoredAsync(() => RedisMessageJournal.LoadAsync(database, recordKey))
            : RedisMessageJournal.Fresh(database, recordKey);
        if (journal.MergedInto is not null)
        {
            // A follow-up of a merged turn that a crash interrupted: its lead, earlier in the stream, was
            // replayed with the joined text and answered it.
            LogAnsweredWithLead(_logger, message.Platform, message.MessageId, journal.MergedInto);
            await UntilStoredAsync(() => CompleteAsync(database, partition.Number, [entryId]));
            _handled.Report(message, DeliveryResult.Finished);
            return;
        }
        if (journal.MergedText is not null)
        {
            message = message with { Text = journal.MergedText };
            raw = StoredMessage.Serialize(message);
        }
        await RunAsync(database, partition.Number, [entryId], message, raw, journal, previousAttempts);
    }

    /// <summary>
    /// A turn of several fresh entries of one conversation: each is checked for a redelivery, the rest go to
    /// the agent as one message. Their journals say so before the agent is asked, and they leave the inbox
    /// together, so a crash at any point replays the same turn once.
    /// </summary>
    private async Task HandleMergedAsync(IReadOnlyList<PendingEntry> turn)
    {
        var database = _redis.GetDatabase();
        var live = new List<PendingEntry>(turn.Count);
        foreach (var entry in turn)
        {
            var message = entry.Message!;
            if (await UntilStoredAsync(() => MarkSeenAsync(database, message, entry.EntryId)))
            {
                live.Add(entry);
                continue;
            }
            LogDuplicate(_logger, message.Platform, message.MessageId);
            _metrics.Duplicate(message.Platform, message.Instance);
            await UntilStoredAsync(() => CompleteAsync(database, entry.Partition.Number, [entry.EntryId]));
            _handled.Report(message, DeliveryResult.Finished);
        }
        if (live.Count == 0)
        {
            return;
        }
        var lead = live[0];
        var partition = lead.Partition.Number;
        using var scope = _logger.BeginScope(new LogFields(new("InboxPartition", partition), new("InboxEntry", lead.EntryId)));
        if (live.Count == 1)
        {
            await RunAsync(database, partition, [lead.EntryId], lead.Message!, lead.Raw, RedisMessageJournal.Fresh(database, _keys.InboxRecord(partition, lead.EntryId)), 0);
            return;
        }
        var joined = FollowUps.Join(live.Select(e => e.Message!).ToList());
        var followers = live.Skip(1).Select(e => _keys.InboxRecord(partition, e.EntryId)).ToList();
        var journal = await UntilStoredAsync(() =>
            RedisMessageJournal.BeginMergedAsync(database, _keys.InboxRecord(partition, lead.EntryId), lead.EntryId, joined.Text, followers));
        LogMerged(_logger, joined.Platform, joined.Conversation.Value, live.Count);
        _metrics.Merged(joined.Platform, live.Count - 1);
        var result = await RunAsync(database, partition, live.Select(e => e.EntryId).ToList(), joined, StoredMessage.Serialize(joined), journal, 0);
        foreach (var follower in live.Skip(1))
        {
            _handled.Report(follower.Message!, result);
        }
    }

    /// <summary>Runs a turn's attempts and acts on the result for all its entries (the first names the turn).</summary>
    private async Task<DeliveryResult> RunAsync(IDatabase database, int partition, IReadOnlyList<string> entryIds, InboundMessage message, RedisValue raw,
        RedisMessageJournal journal, int previousAttempts)
    {
        var (result, reason) = await _runner.RunAsync(message, journal, previousAttempts, _abort.Token);
        switch (result)
        {
            case DeliveryResult.Finished:
                await UntilStoredAsync(() => CompleteAsync(database, partition, entryIds));
                break;
            case DeliveryResult.DeadLettered:
                LogDeadLettered(_logger, message.Platform, message.Conversation.Value, message.MessageId, reason);
                _metrics.DeadLettered(message.Platform, message.Instance);
                await UntilStoredAsync(() => DeadLetterAsync(database, partition, entryIds, raw, reason, previousAttempts + 1));
                break;
        }
        return result;
    }

    /// <summary>
    /// Retries a step against Redis until it works (capped back-off), holding the conversation's turn so
    /// that nothing behind it runs first; only the shutdown's abort ends it, leaving the entry pending.
    /// </summary>
    private async Task<T> UntilStoredAsync<T>(Func<Task<T>> step)
    {
        var delay = StoreRetryDelay;
        while (true)
        {
            try
            {
                return await step();
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException && !_abort.IsCancellationRequested)
            {
                LogStoreRetry(_logger, ex.GetType().Name, ex.Message, delay);
                await Task.Delay(delay, _time, _abort.Token);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxStoreRetryDelay.Ticks));
            }
        }
    }

    private async Task<bool> MarkSeenAsync(IDatabase database, InboundMessage message, string entryId)
    {
        var previous = await database.StringSetAndGetAsync(_keys.Seen(message.Platform, message.DeduplicationId), entryId,
            _bridge.DeduplicationWindow, false, When.NotExists);
        return previous.IsNull || previous == entryId;
    }

    private async Task<bool> CompleteAsync(IDatabase database, int partition, IReadOnlyList<string> entryIds)
    {
        RedisKey[] keys = [_keys.InboxStream(partition), .. entryIds.Select(id => _keys.InboxRecord(partition, id))];
        RedisValue[] values = [Group, .. entryIds.Select(id => (RedisValue)id)];
        await database.ScriptEvaluateAsync(CompleteScript, keys, values);
        return true;
    }

    /// <summary>Moves a turn aside: <paramref name="raw"/> is its message (a merged turn's joined one), named by its first entry.</summary>
    private async Task<bool> DeadLetterAsync(IDatabase database, int partition, IReadOnlyList<string> entryIds, RedisValue raw, string reason, int attempts)
    {
        var entryId = entryIds[0];
        // Two keys in two slots: the dead letter first, so a crash in between leaves a copy, never a loss.
        await database.StreamAddAsync(_keys.DeadLetters,
            [
                new NameValueEntry("m", raw),
                new NameValueEntry("reason", reason),
                new NameValueEntry("partition", partition),
                new NameValueEntry("entry", entryId),
                new NameValueEntry("attempts", attempts),
                new NameValueEntry("at", _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture)),
            ],
            maxLength: _options.DeadLetterCapacity, useApproximateMaxLength: true);
        return await CompleteAsync(database, partition, entryIds);
    }

    /// <summary>An entry read from a partition, waiting for its conversation's turn.</summary>
    private sealed record PendingEntry(Partition Partition, string EntryId, InboundMessage? Message, RedisValue Raw, int PreviousAttempts, bool Replay);

    /// <summary>One held partition: its reader, and the entries read from it and not finished yet.</summary>
    private sealed class Partition(int number)
    {
        private readonly CancellationTokenSource _reading = new();
        private readonly SemaphoreSlim _signal = new(0, 1);
        private readonly SemaphoreSlim _read = new(1, 1);
        private bool _ready;
        private TaskCompletionSource _drained = NewDrained();
        private int _inFlight;

        public int Number { get; } = number;
        public Task Reader { get; set; } = Task.CompletedTask;
        public CancellationToken Reading => _reading.Token;
        public bool Draining { get; set; }
        public bool Released { get; set; }
        public Task Drained => Volatile.Read(ref _inFlight) == 0 ? Task.CompletedTask : _drained.Task;

        /// <summary>Set once what a previous holder left is dispatched: only then may an accept read new entries.</summary>
        public bool Ready { get => Volatile.Read(ref _ready); set => Volatile.Write(ref _ready, value); }

        public void StopReading() => _reading.Cancel();

        /// <summary>Reads of the partition (the reader's, an accept's) one at a time, so entries are dispatched in stream order.</summary>
        public Task BeginReadAsync(CancellationToken cancellationToken) => _read.WaitAsync(cancellationToken);

        /// <summary>For an accept: the read lock if it is free and the partition ready; false means the reader will read.</summary>
        public bool TryBeginRead() => Ready && !_reading.IsCancellationRequested && _read.Wait(0);

        public void EndRead() => _read.Release();

        public void Wake()
        {
            if (_signal.CurrentCount == 0)
            {
                try
                {
                    _signal.Release();
                }
                catch (SemaphoreFullException)
                {
                    // Already signalled.
                }
            }
        }

        public async Task WaitForSignalAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
            await _signal.WaitAsync(timeout, cancellationToken);

        public void Began()
        {
            if (Interlocked.Increment(ref _inFlight) == 1)
            {
                Interlocked.Exchange(ref _drained, NewDrained());
            }
        }

        public void Ended()
        {
            if (Interlocked.Decrement(ref _inFlight) == 0)
            {
                Volatile.Read(ref _drained).TrySetResult();
            }
        }

        private static TaskCompletionSource NewDrained() => new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Orders stream ids (<c>ms-seq</c>) numerically.</summary>
    private sealed class EntryIdComparer : IComparer<string>
    {
        public static readonly EntryIdComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            var (xm, xs) = Split(x);
            var (ym, ys) = Split(y);
            return xm != ym ? xm.CompareTo(ym) : xs.CompareTo(ys);
        }

        private static (long Ms, long Seq) Split(string? id)
        {
            var text = id ?? "";
            var dash = text.IndexOf('-', StringComparison.Ordinal);
            var ms = long.TryParse(dash < 0 ? text : text[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var m) ? m : 0;
            var seq = dash >= 0 && long.TryParse(text[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : 0;
            return (ms, seq);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Durable inbox on Redis: replica {ReplicaId}, {Partitions} partitions, lease timeout {LeaseTimeout}")]
    private static partial void LogStarted(ILogger logger, string replicaId, int partitions, TimeSpan leaseTimeout);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shutting down: finishing {Pending} message(s) in hand within {Timeout}; the rest stays in Redis")]
    private static partial void LogDraining(ILogger logger, int pending, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shutdown timeout reached with {Pending} message(s) unfinished; they stay in Redis for the next replica")]
    private static partial void LogLeaving(ILogger logger, int pending);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not give the inbox leases back ({Reason}); they expire by themselves")]
    private static partial void LogReleaseFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Inbox ownership round failed ({ErrorKind}: {Reason}); trying again")]
    private static partial void LogOwnershipFailed(ILogger logger, string errorKind, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the lease of inbox partition {Partition} (this replica stalled past it); stopped reading it")]
    private static partial void LogLeaseLost(ILogger logger, int partition);

    [LoggerMessage(Level = LogLevel.Information, Message = "Giving inbox partition {Partition} back for balance ({Replicas} replicas live) once its messages in hand are finished")]
    private static partial void LogReleasing(ILogger logger, int partition, int replicas);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading inbox partition {Partition} failed ({ErrorKind}: {Reason}); trying again in {Delay}")]
    private static partial void LogReadFailed(ILogger logger, int partition, string errorKind, string reason, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Information, Message = "Took over inbox partition {Partition} with {Count} unfinished message(s)")]
    private static partial void LogTakeover(ILogger logger, int partition, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Platform} conversation {ConversationKey}: {Count} queued messages go to the agent as one turn")]
    private static partial void LogMerged(ILogger logger, string platform, string conversationKey, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Platform} message {MessageId} was answered with the merged turn of inbox entry {LeadEntry}; not asked again")]
    private static partial void LogAnsweredWithLead(ILogger logger, string platform, string messageId, string leadEntry);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dropped redelivered {Platform} event {MessageId}")]
    private static partial void LogDuplicate(ILogger logger, string platform, string messageId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Dead-lettered message {MessageId} of {Platform} conversation {ConversationKey}: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, string platform, string conversationKey, string messageId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis step of the inbox failed ({ErrorKind}: {Reason}); retrying in {Delay}")]
    private static partial void LogStoreRetry(ILogger logger, string errorKind, string reason, TimeSpan delay);
}
