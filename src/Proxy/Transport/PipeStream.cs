using System.Buffers;
using System.IO.Pipelines;

namespace Sluice.Proxy.Transport;

/// <summary>
/// A duplex byte stream over a pair of pipes, for an SslStream to run over a transport whose receive loop keeps
/// reading the socket (bytes of the TLS handshake may already be in the pipe when TLS starts). A zero-byte read waits
/// for data without taking any, so the SslStream above it can stay buffer-free while idle.
/// </summary>
internal sealed class PipeStream : AsyncOnlyStream
{
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;

    public PipeStream(IDuplexPipe pipe)
    {
        _reader = pipe.Input;
        _writer = pipe.Output;
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken);
            var available = result.Buffer;
            if (!available.IsEmpty)
            {
                var length = (int)Math.Min(buffer.Length, available.Length);
                available.Slice(0, length).CopyTo(buffer.Span);
                _reader.AdvanceTo(available.GetPosition(length));
                return length;
            }

            _reader.AdvanceTo(available.Start);
            if (result.IsCompleted || result.IsCanceled)
            {
                return 0;
            }
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var flush = await _writer.WriteAsync(buffer, cancellationToken);
        if (flush.IsCompleted)
        {
            throw new IOException("the connection is closed");
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => _writer.FlushAsync(cancellationToken).AsTask();
}
