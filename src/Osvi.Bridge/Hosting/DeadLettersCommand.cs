using Microsoft.Extensions.Options;
using Osvi.Bridge.Dispatching;
using Osvi.Bridge.Storage;
using StackExchange.Redis;

namespace Osvi.Bridge.Hosting;

/// <summary>
/// <c>Osvi.Bridge dead-letters list [--count N] | retry ID|all | drop ID|all</c>: what the durable inbox gave
/// up on. Needs <c>Redis:ConnectionString</c> (without Redis nothing is kept). Exit 0 done, 1 Redis failed
/// or an id was not found, 2 configuration error, 64 usage error.
/// </summary>
public static class DeadLettersCommand
{
    private const string Usage = "Usage: Osvi.Bridge dead-letters list [--count N] | retry <id>|all | drop <id>|all";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var words = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal) || a == "--count").ToList();
        var verb = words.Count > 0 ? words[0].ToLowerInvariant() : null;
        var target = words.Count > 1 ? words[1] : null;
        if (verb is not ("list" or "retry" or "drop") || (verb is "retry" or "drop" && target is null))
        {
            await error.WriteLineAsync(Usage);
            return BridgeProgram.ExitUsage;
        }
        var count = 100;
        if (verb == "list" && target == "--count" && (words.Count < 3 || !int.TryParse(words[2], out count) || count < 1))
        {
            await error.WriteLineAsync(Usage);
            return BridgeProgram.ExitUsage;
        }

        var builder = BridgeApp.CreateBuilder(args.Where(a => a.StartsWith("--", StringComparison.Ordinal) && a.Contains('=', StringComparison.Ordinal)).ToArray());
        builder.Logging.ClearProviders();
        builder.Services.AddBridgeStorage(builder.Configuration);
        builder.Services.AddOptions<InboxOptions>().Bind(builder.Configuration.GetSection(InboxOptions.Section)).ValidateDataAnnotations();
        builder.Services.AddSingleton<DeadLetterStore>();
        await using var services = builder.Services.BuildServiceProvider();
        if (!services.GetRequiredService<IOptions<RedisOptions>>().Value.IsConfigured)
        {
            await error.WriteLineAsync("Configuration error:");
            await error.WriteLineAsync("  Redis:ConnectionString is required for dead letters (without Redis the inbox keeps nothing)");
            return BridgeProgram.ExitConfiguration;
        }
        var store = services.GetRequiredService<DeadLetterStore>();
        try
        {
            switch (verb)
            {
                case "list":
                    var letters = await store.ListAsync(count);
                    foreach (var letter in letters)
                    {
                        await output.WriteLineAsync(
                            $"{letter.Id}  {letter.At}  {letter.Platform} {letter.Conversation} message {letter.MessageId}  attempts {letter.Attempts}  reason: {letter.Reason}");
                    }
                    await output.WriteLineAsync($"{letters.Count} dead letter(s).");
                    return BridgeProgram.ExitOk;
                default:
                    var ids = target == "all" ? (await store.ListAsync(int.MaxValue)).Select(l => l.Id).ToList() : [target!];
                    var missing = 0;
                    foreach (var id in ids)
                    {
                        var done = verb == "retry" ? await store.RetryAsync(id) : await store.DropAsync(id);
                        missing += done ? 0 : 1;
                        await output.WriteLineAsync(done ? $"{(verb == "retry" ? "retried" : "dropped")} {id}" : $"not found: {id}");
                    }
                    return missing == 0 ? BridgeProgram.ExitOk : BridgeProgram.ExitFailure;
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            await error.WriteLineAsync($"Redis failed: {ex.Message}");
            return BridgeProgram.ExitFailure;
        }
    }
}
