namespace Osvi.Bridge.Hosting;

/// <summary>One line of <c>Osvi.Bridge check</c>: reaches one dependency and says whether it works.</summary>
public interface IDependencyCheck
{
    /// <summary>Short name printed before the verdict, e.g. <c>redis</c> or <c>telegram getMe</c>.</summary>
    string Name { get; }

    Task<DependencyCheckResult> RunAsync(CancellationToken cancellationToken);
}

/// <summary>A check's verdict and a one-line explanation that never contains a secret.</summary>
public sealed record DependencyCheckResult(bool Ok, string Detail, bool Refused = false)
{
    public static DependencyCheckResult Pass(string detail) => new(true, detail);
    public static DependencyCheckResult Fail(string detail) => new(false, detail);

    /// <summary>The dependency answered and refused our configuration (a token, an agent): a configuration error.</summary>
    public static DependencyCheckResult Refuse(string detail) => new(false, detail, Refused: true);
}
