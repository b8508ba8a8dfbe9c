using Osvi.Bridge.Messaging;

namespace Osvi.Bridge.Relay;

/// <summary>
/// Remembers, per conversation, when the user last got the apology, so that while OSVI cannot be reached
/// a user who keeps writing hears it once per <c>Bridge:ApologyCooldown</c>, not after every message.
/// In memory (per replica, lost on restart: at worst one more apology), bounded to
/// <see cref="Capacity"/> conversations and swept of expired entries once per cooldown.
/// </summary>
public sealed class ApologyCooldown
{
    /// <summary>Conversations remembered at most; beyond that the apology is sent without being remembered.</summary>
    public const int Capacity = 100_000;

    private readonly Dictionary<string, DateTimeOffset> _until = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly TimeSpan _cooldown;
    private readonly TimeProvider _time;
    private DateTimeOffset _nextSweep;
    private int _count;

    public ApologyCooldown(TimeSpan cooldown, TimeProvider time)
    {
        _cooldown = cooldown;
        _time = time;
    }

    /// <summary>True when the conversation may get the apology now (and starts its cooldown); false within the cooldown.</summary>
    public bool TryTake(ConversationKey conversation)
    {
        if (_cooldown <= TimeSpan.Zero)
        {
            return true;
        }
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (now >= _nextSweep)
            {
                Sweep(now);
            }
            if (_until.TryGetValue(conversation.Value, out var until) && until > now)
            {
                return false;
            }
            if (_until.Count < Capacity || _until.ContainsKey(conversation.Value))
            {
                _until[conversation.Value] = now + _cooldown;
                Volatile.Write(ref _count, _until.Count);
            }
            return true;
        }
    }

    /// <summary>The agent answered the conversation again: a later outage gets its apology at once.</summary>
    public void Forget(ConversationKey conversation)
    {
        // The common case (no outage remembered) takes no lock.
        if (Volatile.Read(ref _count) == 0)
        {
            return;
        }
        lock (_gate)
        {
            _until.Remove(conversation.Value);
            Volatile.Write(ref _count, _until.Count);
        }
    }

    private void Sweep(DateTimeOffset now)
    {
        foreach (var (key, until) in _until)
        {
            if (until <= now)
            {
                _until.Remove(key);
            }
        }
        _nextSweep = now + _cooldown;
    }
}
