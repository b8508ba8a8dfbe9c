namespace Osvi.Bridge.Hosting;

/// <summary>
/// <c>Osvi.Bridge healthcheck [url]</c>: asks a running bridge's <c>/healthz</c> and exits 0 or 1, for
/// container images without a shell or curl. The default URL follows <c>ASPNETCORE_HTTP_PORTS</c>.
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

    private static string DefaultUrl()
    {
        var ports = Environment.GetEnvironmentVariable("ASPNETCORE_HTTP_PORTS");
        var port = ports?.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        return $"http://127.0.0.1:{(string.IsNullOrEmpty(port) ? BridgeApp.DefaultPort.ToString(System.Globalization.CultureInfo.InvariantCulture) : port)}/healthz";
    }
}
