using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Osvi.Bridge.Benchmarks;

/// <summary>Just enough of the Redis protocol for PING and INFO, so the benchmark needs no client library.</summary>
internal static class RespClient
{
    public static async Task<string> CommandAsync(int port, CancellationToken cancellationToken, params string[] args)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
        await using var stream = client.GetStream();
        var request = new StringBuilder().Append(CultureInfo.InvariantCulture, $"*{args.Length}\r\n");
        foreach (var arg in args)
        {
            request.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(arg)}\r\n{arg}\r\n");
        }
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cancellationToken);

        var reader = new BufferedReader(stream);
        var line = await reader.ReadLineAsync(cancellationToken);
        switch (line[0])
        {
            case '+':
            case ':':
                return line[1..];
            case '-':
                throw new InvalidOperationException("Redis answered " + line);
            case '$':
                var length = int.Parse(line.AsSpan(1), CultureInfo.InvariantCulture);
                return length < 0 ? "" : Encoding.UTF8.GetString(await reader.ReadExactlyAsync(length, cancellationToken));
            default:
                throw new InvalidOperationException("Unexpected Redis reply " + line);
        }
    }

    /// <summary>The <c>total_commands_processed</c> counter of <c>INFO stats</c>.</summary>
    public static async Task<long> TotalCommandsAsync(int port, CancellationToken cancellationToken)
    {
        var info = await CommandAsync(port, cancellationToken, "INFO", "stats");
        foreach (var line in info.Split('\n'))
        {
            if (line.StartsWith("total_commands_processed:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan("total_commands_processed:".Length).Trim(), CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException("INFO stats has no total_commands_processed");
    }

    private sealed class BufferedReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        public async Task<string> ReadLineAsync(CancellationToken cancellationToken)
        {
            for (var reads = 0; reads < 1000; reads++)
            {
                var at = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (at > _start && _buffer[at - 1] == '\r')
                {
                    var line = Encoding.UTF8.GetString(_buffer, _start, at - 1 - _start);
                    _start = at + 1;
                    return line;
                }
                await FillAsync(cancellationToken);
            }
            throw new InvalidOperationException("Redis reply line too long");
        }

        public async Task<byte[]> ReadExactlyAsync(int length, CancellationToken cancellationToken)
        {
            var result = new byte[length];
            var copied = 0;
            for (var reads = 0; copied < length && reads < 100_000; reads++)
            {
                if (_start == _end)
                {
                    await FillAsync(cancellationToken);
                }
                var take = Math.Min(length - copied, _end - _start);
                Array.Copy(_buffer, _start, result, copied, take);
                _start += take;
                copied += take;
            }
            return result;
        }

        private async Task FillAsync(CancellationToken cancellationToken)
        {
            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length)
            {
                throw new InvalidOperationException("Redis reply too large");
            }
            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0)
            {
                throw new EndOfStreamException("Redis closed the connection");
            }
            _end += read;
        }
    }
}
