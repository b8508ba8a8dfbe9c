namespace Osvi.Bridge.IntegrationTests.Infrastructure;

/// <summary>Waits for a condition the bridge brings about asynchronously, bounded so a broken bridge fails instead of hanging.</summary>
public static class Eventually
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    public static async Task HoldsAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Gave up waiting for: " + what);
            }
            await Task.Delay(20);
        }
    }
}
