namespace Osvi.Bridge.Osvi;

/// <summary>Any failure talking to OSVI; the subclasses say what kind.</summary>
public class OsviException : Exception
{
    public OsviException() { }
    public OsviException(string message) : base(message) { }
    public OsviException(string message, Exception innerException) : base(message, innerException) { }
    public int? StatusCode { get; init; }
}

/// <summary>OSVI refused the API token (401) or the agent belongs to another account (403).</summary>
public sealed class OsviAuthenticationException : OsviException
{
    public OsviAuthenticationException() { }
    public OsviAuthenticationException(string message) : base(message) { }
    public OsviAuthenticationException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>OSVI rejected the request (400/422 or <c>success:false</c>); <see cref="Errors"/> holds its reasons.</summary>
public sealed class OsviValidationException : OsviException
{
    public OsviValidationException() { }
    public OsviValidationException(string message) : base(message) { }
    public OsviValidationException(string message, Exception innerException) : base(message, innerException) { }
    public IReadOnlyList<string> Errors { get; init; } = [];
}

/// <summary>OSVI no longer knows the chat session (unknown, closed or expired).</summary>
public sealed class OsviSessionNotFoundException : OsviException
{
    public OsviSessionNotFoundException() { }
    public OsviSessionNotFoundException(string message) : base(message) { }
    public OsviSessionNotFoundException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>OSVI could not be reached or kept failing (429, 5xx, timeouts) after every retry.</summary>
public sealed class OsviUnavailableException : OsviException
{
    public OsviUnavailableException() { }
    public OsviUnavailableException(string message) : base(message) { }
    public OsviUnavailableException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>
    /// False only when OSVI surely did not act on the request (the connection failed before sending, or it
    /// answered 408/429/503): then sending it again later cannot make the agent answer it twice.
    /// </summary>
    public bool MayHaveReachedOsvi { get; init; } = true;
}
