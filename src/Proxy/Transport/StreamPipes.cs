using System.IO.Pipelines;

namespace Sluice.Proxy.Transport;

/// <summary>The pipes every transport puts over a byte stream (the socket's, or TLS over it).</summary>
internal static class StreamPipes
{
    /// <summary>Size of the segments rented per read; large results stream through in reads of this size.</summary>
    private const int ReadBufferSize = 16 * 1024;

    /// <summary>Zero-byte reads first, so an idle connection holds no rented buffer.</summary>
    public static (PipeReader Input, PipeWriter Output) Create(Stream stream) =>
        (PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: ReadBufferSize, minimumReadSize: 2048, leaveOpen: true, useZeroByteReads: true)),
         PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true)));
}
