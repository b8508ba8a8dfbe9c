namespace Osvi.Bridge.Adapters.Console;

/// <summary>
/// Log output for the terminal commands: one line per entry on stderr, an exception as its type and
/// message only, so that a retry or a warning never buries the conversation under a stack trace.
/// </summary>
public sealed class OneLineLoggerProvider(TextWriter writer) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new OneLineLogger(writer);

    public void Dispose()
    {
    }

    private sealed class OneLineLogger(TextWriter writer) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            var text = formatter(state, exception);
            if (exception is not null)
            {
                text += $" ({exception.GetType().Name}: {exception.Message})";
            }
            var level = logLevel switch
            {
                LogLevel.Warning => "warning",
                LogLevel.Error => "error",
                LogLevel.Critical => "critical",
                _ => logLevel.ToString().ToLowerInvariant(),
            };
            var line = $"{level}: {text.ReplaceLineEndings(" ")}";
            lock (writer)
            {
                writer.WriteLine(line);
                writer.Flush();
            }
        }
    }
}
