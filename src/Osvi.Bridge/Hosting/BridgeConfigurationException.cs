namespace Osvi.Bridge.Hosting;

/// <summary>
/// The configuration cannot work (no channel, a token the platform refuses at start-up, …).
/// The message names the key to fix; the process exits with code 2.
/// </summary>
public sealed class BridgeConfigurationException : Exception
{
    public BridgeConfigurationException() { }
    public BridgeConfigurationException(string message) : base(message) { }
    public BridgeConfigurationException(string message, Exception innerException) : base(message, innerException) { }
}
