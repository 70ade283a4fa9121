using System.Buffers;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Sluice.Protocol.Framing;
using Sluice.Proxy.Transport;

namespace Sluice.Benchmarks;

/// <summary>
/// The relay's inner loop over <see cref="FrameRelay"/> (the code the client loop, the pump and a server's drain run):
/// read a frame header, copy the frame's bytes into the other side's PipeWriter, flush once per batch. 0 B allocated
/// per forwarded frame (docs/architecture.md, hot-path rules): segments come from the pipe's pool and go back to it.
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
        // The proxy's one frame relay, as every reader of frames drives it: next header, decide, move.
        var output = _pipe.Writer;
        var relay = default(FrameRelay);
        while (relay.Next(ref buffer, output, out var header) == ReadStatus.Ok)
        {
            relay.Forward(header.FrameLength);
        }

        // Flush and drain the other side, as the client socket would.
        _ = output.FlushAsync().GetAwaiter().GetResult();
        _pipe.Reader.TryRead(out var result);
        var forwarded = result.Buffer.Length;
        _pipe.Reader.AdvanceTo(result.Buffer.End);
        return forwarded;
    }
}
