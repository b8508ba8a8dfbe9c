using System.Diagnostics;

namespace Osvi.Bridge.Benchmarks;

/// <summary>Publishes the bridge exactly as the Dockerfile does, into a directory of our own.</summary>
internal static class BridgePublisher
{
    public const string Project = "src/Osvi.Bridge/Osvi.Bridge.csproj";

    public static async Task PublishAsync(string repositoryRoot, string output, TextWriter progress, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = repositoryRoot,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "publish", Project, "-c", "Release", "-o", output, "/p:UseAppHost=false", "-nologo", "-v", "quiet" })
        {
            start.ArgumentList.Add(arg);
        }
        progress.WriteLine($"Publishing the bridge: dotnet publish {Project} -c Release -o {output} /p:UseAppHost=false");
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet publish did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
        }
    }

    /// <summary>The directory holding Osvi.Bridge.sln: from the working directory up, else from the benchmark's binary up.</summary>
    public static string FindRepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Osvi.Bridge.sln")))
                {
                    return dir.FullName;
                }
            }
        }
        throw new InvalidOperationException("Osvi.Bridge.sln not found above the working directory: run from the repository.");
    }
}
