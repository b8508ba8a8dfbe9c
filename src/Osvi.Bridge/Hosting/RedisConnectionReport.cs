using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Osvi.Bridge.Storage;
using StackExchange.Redis;

namespace Osvi.Bridge.Hosting;

/// <summary>
/// Logs at start which Redis the bridge uses (endpoints, mode, TLS, key prefix) and whether it is
/// connected; when it is not, says why in the words of the network (refused, unknown host, no answer)
/// rather than the client's "The operation has timed out".
/// </summary>
public sealed partial class RedisConnectionReport(IServiceProvider services, IOptions<RedisOptions> options, ILogger<RedisConnectionReport> logger)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (!settings.IsConfigured)
        {
            return;
        }
        var config = ConfigurationOptions.Parse(settings.ConnectionString);
        var endpoints = string.Join(", ", config.EndPoints.Select(Describe));
        var redis = services.GetRequiredService<IConnectionMultiplexer>();
        if (redis.IsConnected)
        {
            var mode = !string.IsNullOrEmpty(config.ServiceName) ? $"Sentinel (service {config.ServiceName})"
                : redis.GetServers().FirstOrDefault()?.ServerType.ToString() ?? "unknown";
            LogConnected(logger, endpoints, mode, config.Ssl, settings.KeyPrefix);
        }
        else
        {
            LogNotConnected(logger, endpoints, await ProbeAsync(config, TimeSpan.FromSeconds(2), cancellationToken));
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Why the first configured endpoint cannot be used, found with a plain TCP connect.</summary>
    public static async Task<string> ProbeAsync(ConfigurationOptions config, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        var endpoint = config.EndPoints.FirstOrDefault();
        if (endpoint is null)
        {
            return "no endpoint configured";
        }
        var (host, port) = endpoint switch
        {
            DnsEndPoint dns => (dns.Host, dns.Port == 0 ? 6379 : dns.Port),
            IPEndPoint ip => (ip.Address.ToString(), ip.Port == 0 ? 6379 : ip.Port),
            _ => (endpoint.ToString() ?? "?", 6379),
        };
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(host, port, limit.Token);
            return $"{host}:{port} accepts TCP connections but does not answer as Redis (check password, ssl and that it is Redis)";
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return $"connection refused by {host}:{port} (nothing listens there)";
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData)
        {
            return $"host {host} not found (DNS)";
        }
        catch (SocketException ex)
        {
            return $"cannot connect to {host}:{port}: {ex.SocketErrorCode}";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"no answer from {host}:{port} within {timeout.TotalSeconds:0.#} s (firewall, NetworkPolicy or wrong address?)";
        }
    }

    private static string Describe(EndPoint endpoint) => endpoint switch
    {
        DnsEndPoint dns => $"{dns.Host}:{(dns.Port == 0 ? 6379 : dns.Port)}",
        _ => endpoint.ToString() ?? "?",
    };

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Redis {Endpoints}: connected, mode {Mode}, TLS {Tls}, key prefix '{KeyPrefix}'")]
    private static partial void LogConnected(ILogger logger, string endpoints, string mode, bool tls, string keyPrefix);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Redis {Endpoints}: not connected at start ({Reason}); the bridge keeps trying and /readyz reports it")]
    private static partial void LogNotConnected(ILogger logger, string endpoints, string reason);
}
