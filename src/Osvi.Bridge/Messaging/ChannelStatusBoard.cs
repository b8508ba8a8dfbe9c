using System.Collections.Concurrent;

namespace Osvi.Bridge.Messaging;

/// <summary>
/// Each channel adapter reports here whether it is connected to its platform; <c>/readyz</c>
/// reads it. A channel that registered but never connected is not ready.
/// </summary>
public sealed class ChannelStatusBoard
{
    private readonly ConcurrentDictionary<string, ChannelStatus> _channels = new(StringComparer.Ordinal);

    public void Report(string channel, bool connected, string detail) =>
        _channels[channel] = new ChannelStatus(channel, connected, detail);

    public IReadOnlyCollection<ChannelStatus> Snapshot() => _channels.Values.ToArray();
}

/// <summary>One channel's last reported state.</summary>
public sealed record ChannelStatus(string Channel, bool Connected, string Detail);
