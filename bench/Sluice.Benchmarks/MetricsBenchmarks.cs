using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Prometheus;
using Sluice.Proxy.Observability;

namespace Sluice.Benchmarks;

/// <summary>
/// What metrics cost per transaction on the data path: the calls src/Proxy/Clients makes for a one-query transaction
/// (QueryCompleted, TransactionCompleted, BytesTransferred both ways), through the two ways prometheus-net offers.
/// <c>Native</c> is the real <see cref="SluiceMetrics"/> (prometheus-net collectors, series found in a bounded
/// dictionary). <c>MeterAdapter</c> records the same measurements on System.Diagnostics.Metrics instruments that
/// prometheus-net's MeterAdapter turns into its collectors, the other design the issue weighed.
/// </summary>
[MemoryDiagnoser]
public class MetricsBenchmarks
{
    private const int Transactions = 1000;

    private readonly SluiceMetrics _native = new();
    private Meter _meter = null!;
    private IDisposable _adapter = null!;
    private Counter<long> _transactions = null!;
    private Counter<long> _queries = null!;
    private Histogram<double> _queryDuration = null!;
    private Counter<long> _bytes = null!;

    [GlobalSetup]
    public void Setup()
    {
        _meter = new Meter("Sluice.Benchmarks");
        _transactions = _meter.CreateCounter<long>("sluice_transactions");
        _queries = _meter.CreateCounter<long>("sluice_queries");
        _queryDuration = _meter.CreateHistogram<double>("sluice_query_duration_seconds");
        _bytes = _meter.CreateCounter<long>("sluice_bytes");
        var meter = _meter;
        _adapter = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = Prometheus.Metrics.NewCustomRegistry(),
            InstrumentFilterPredicate = instrument => ReferenceEquals(instrument.Meter, meter),
            ResolveHistogramBuckets = _ => [.. SluiceMetrics.DurationBucketBoundaries],
        });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _adapter.Dispose();
        _meter.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Transactions)]
    public void Native()
    {
        for (var i = 0; i < Transactions; i++)
        {
            _native.QueryCompleted("shop", "primary", 0.0004);
            _native.TransactionCompleted("shop", "primary");
            _native.BytesTransferred(TrafficDirection.ClientToServer, 64);
            _native.BytesTransferred(TrafficDirection.ServerToClient, 512);
        }
    }

    [Benchmark(OperationsPerInvoke = Transactions)]
    public void Adapter()
    {
        for (var i = 0; i < Transactions; i++)
        {
            var database = new KeyValuePair<string, object?>("database", "shop");
            var route = new KeyValuePair<string, object?>("route", "primary");
            _queries.Add(1, database, route);
            _queryDuration.Record(0.0004, database, route);
            _transactions.Add(1, database, route);
            _bytes.Add(64, new KeyValuePair<string, object?>("direction", "client_to_server"));
            _bytes.Add(512, new KeyValuePair<string, object?>("direction", "server_to_client"));
        }
    }
}
