using System.Buffers;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Sluice.Protocol.Framing;
using Sluice.Proxy.Transport;

namespace Sluice.Benchmarks;

/// <summary>
/// The pump's inner loop: read a frame header, copy the frame's bytes into the other side's PipeWriter, flush once per
/// batch. Forwarding must allocate 0 B per frame (docs/architecture.md, hot-path rules): segments come from the pipe's pool and go back to it.
/// </summary>
[MemoryDiagnoser]
public class ForwardingBenchmarks
{
    private const int FrameCount = 1000;

    private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
    private ReadOnlySequence<byte> _singleSegment;
    private ReadOnlySequence<byte> _pipeSegments;

    [GlobalSetup]
    public void Setup()
    {
        var data = FrameReaderBenchmarks.BuildDataRows();
        _singleSegment = new ReadOnlySequence<byte>(data);
        _pipeSegments = FrameReaderBenchmarks.Segment.Chunk(data, 4096);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = FrameCount)]
    public long ForwardSingleSegment() => Forward(_singleSegment);

    [Benchmark(OperationsPerInvoke = FrameCount)]
    public long ForwardMultiSegment() => Forward(_pipeSegments);

    private long Forward(ReadOnlySequence<byte> buffer)
    {
        var output = _pipe.Writer;
        long remaining = 0;
        while (true)
        {
            if (remaining > 0)
            {
                if (!FrameCopier.CopyChunk(ref buffer, ref remaining, output))
                {
                    break;
                }

                continue;
            }

            if (FrameReader.TryReadHeader(buffer, FrameReader.DefaultMaxFrameLength, out var header) != ReadStatus.Ok)
            {
                break;
            }

            remaining = header.FrameLength;
        }

        // Flush and drain the other side, as the client socket would.
        _ = output.FlushAsync().GetAwaiter().GetResult();
        _pipe.Reader.TryRead(out var result);
        var forwarded = result.Buffer.Length;
        _pipe.Reader.AdvanceTo(result.Buffer.End);
        return forwarded;
    }
}
