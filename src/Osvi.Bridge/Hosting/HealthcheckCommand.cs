namespace Osvi.Bridge.Hosting;

/// <summary>
/// <c>Osvi.Bridge healthcheck [url]</c>: asks a running bridge's <c>/healthz</c> and exits 0 or 1, for
/// container images without a shell or curl. The default URL is the one the bridge listens on
/// (<c>ASPNETCORE_URLS</c>, else <c>ASPNETCORE_HTTP_PORTS</c>, else 8080).
/// </summary>
public static class HealthcheckCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var url = args.FirstOrDefault(a => a.StartsWith("http", StringComparison.OrdinalIgnoreCase)) ?? DefaultUrl();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync(new Uri(url));
            await output.WriteLineAsync($"{url}: HTTP {(int)response.StatusCode}");
            return response.IsSuccessStatusCode ? BridgeProgram.ExitOk : BridgeProgram.ExitFailure;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or UriFormatException)
        {
            await output.WriteLineAsync($"{url}: {ex.Message}");
            return BridgeProgram.ExitFailure;
        }
    }

    private static string DefaultUrl() => DefaultUrl(Environment.GetEnvironmentVariable);

    /// <summary>
    /// The address Kestrel listens on, as it decides: <c>ASPNETCORE_URLS</c> wins over
    /// <c>ASPNETCORE_HTTP_PORTS</c>, and without either the bridge listens on 8080. A wildcard host
    /// (<c>+</c>, <c>*</c>, <c>0.0.0.0</c>, <c>[::]</c>) is probed on the loopback address.
    /// </summary>
    internal static string DefaultUrl(Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var separators = new[] { ',', ';' };
        var urls = environment("ASPNETCORE_URLS") ?? environment("DOTNET_URLS");
        var http = urls?.Split(separators, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault(u => u.StartsWith("http://", StringComparison.OrdinalIgnoreCase));
        if (http is not null)
        {
            var rest = http["http://".Length..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            var authority = slash < 0 ? rest : rest[..slash];
            var colon = authority.LastIndexOf(':');
            var port = colon >= 0 && !authority.EndsWith(']') ? authority[(colon + 1)..] : "80";
            var host = colon >= 0 && !authority.EndsWith(']') ? authority[..colon] : authority;
            if (host is "+" or "*" or "0.0.0.0" or "[::]" or "")
            {
                host = "127.0.0.1";
            }
            return $"http://{host}:{port}/healthz";
        }
        var ports = environment("ASPNETCORE_HTTP_PORTS") ?? environment("DOTNET_HTTP_PORTS");
        var first = ports?.Split(separators, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        return $"http://127.0.0.1:{(string.IsNullOrEmpty(first) ? BridgeApp.DefaultPort.ToString(System.Globalization.CultureInfo.InvariantCulture) : first)}/healthz";
    }
}
