using System.Text;
using BenchmarkDotNet.Attributes;
using Sluice.Routing.Classification;

namespace Sluice.Benchmarks;

/// <summary>
/// The classifier's cost per statement: a cache hit (every repeated or prepared statement) against a full
/// classification (the first time a text is seen). Run: <c>dotnet run -c Release -- --filter *Classifier*</c>.
/// </summary>
[MemoryDiagnoser]
public class ClassifierBenchmarks
{
    private readonly SqlClassifier _cached = new();
    private readonly SqlClassifier _uncached = new(new SqlClassifierOptions { CacheCapacity = 0 });
    private byte[] _utf8 = [];

    [Params(
        "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
        "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2",
        "WITH recent AS (SELECT o.id, o.total FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.created_at > now() - interval '1 day' AND lower(c.email) = lower($1)) SELECT id, sum(total) OVER (ORDER BY id), coalesce(total, 0)::numeric(10, 2) FROM recent ORDER BY id LIMIT 50")]
    public string Sql { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _utf8 = Encoding.UTF8.GetBytes(Sql);
        _cached.Classify(Sql);
    }

    [Benchmark(Baseline = true)]
    public StatementRoute Cached() => _cached.Classify(Sql).Route;

    [Benchmark]
    public StatementRoute CachedUtf8() => _cached.ClassifyUtf8(_utf8).Route;

    [Benchmark]
    public StatementRoute Uncached() => _uncached.Classify(Sql).Route;
}
