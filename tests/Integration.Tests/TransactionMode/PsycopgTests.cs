using System.Globalization;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Demo;

namespace Sluice.Integration.Tests.TransactionMode;

/// <summary>
/// psycopg 3 (python3-psycopg, over libpq) with every query prepared (<c>prepare_threshold=0</c>) and a statement
/// cache smaller than its working set (<c>prepared_max=3</c>): it evicts with SQL <c>DEALLOCATE _pg3_N</c>, which
/// must name the client's statement although servers hold shared copies under other names.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PsycopgTests(PostgresFixture fixture)
{
    // Five workers, twelve queries in turn, ten rounds. Odd workers run each round in a transaction, so half of the
    // DEALLOCATEs arrive inside a block, on a lent server; the others arrive with no server lent.
    private const string Script = """
        import sys, threading, psycopg
        dsn = sys.argv[1]
        queries = ["SELECT %s::int + " + str(i) + " AS n" for i in range(12)]
        errors, answers = [], [0]
        lock = threading.Lock()

        def work(worker):
            try:
                with psycopg.connect(dsn, prepare_threshold=0, autocommit=(worker % 2 == 0)) as conn:
                    conn.prepared_max = 3
                    for round in range(10):
                        for i, query in enumerate(queries):
                            value = worker * 1000 + round
                            got = conn.execute(query, (value,)).fetchone()[0]
                            with lock:
                                if got == value + i:
                                    answers[0] += 1
                                else:
                                    errors.append(f"worker {worker} query {i}: {got} != {value + i}")
                        if not conn.autocommit:
                            conn.commit()
            except Exception as e:
                with lock:
                    errors.append(f"worker {worker}: {type(e).__name__}: {e}")

        threads = [threading.Thread(target=work, args=(w,)) for w in range(5)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(f"answers={answers[0]} errors={len(errors)}")
        for e in errors[:10]: print(e)
        sys.exit(1 if errors else 0)
        """;

    [Fact]
    public async Task Psycopg_evicting_prepared_statements_with_deallocate_gets_no_error_and_right_answers()
    {
        var config = fixture.CreateProxyConfig(PoolMode.Transaction, 2);
        await using var proxy = await fixture.StartProxyOnThreadPoolAsync(config with
        {
            Pool = config.Pool with { PreparedStatements = true, CheckoutTimeout = TimeSpan.FromSeconds(60) },
        });
        var dsn = string.Create(CultureInfo.InvariantCulture,
            $"host=127.0.0.1 port={proxy.Port} user={TestRoles.Trust.Name} dbname={PostgresFixture.Database} connect_timeout=10");

        // The distribution's interpreter, which python3-psycopg installs into (a pyenv or venv python3 first on PATH lacks it).
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var run = await ExternalProcess.RunAsync(python, ["-", dsn], TimeSpan.FromSeconds(120), standardInput: Script);

        var output = run.StandardOutput + run.StandardError;
        Assert.True(run.ExitCode == 0, output);
        Assert.Contains($"answers={5 * 10 * 12} errors=0", output, StringComparison.Ordinal);
    }
}
