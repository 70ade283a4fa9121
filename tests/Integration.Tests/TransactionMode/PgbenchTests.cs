using System.Globalization;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Support;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.TransactionMode;

/// <summary>
/// pgbench's TPC-B-like script, 50 clients through a pool of 5, with each query protocol. Its own database
/// (tx_pgbench), so no other test sees the pgbench_* tables.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed partial class PgbenchTests(PostgresFixture fixture)
{
    private const string Database = "tx_pgbench";
    private const int Clients = 50;
    private const int TransactionsPerClient = 20;

    [Theory]
    [InlineData("simple")]
    [InlineData("extended")]
    [InlineData("prepared")]
    public async Task Fifty_pgbench_clients_over_a_pool_of_five_commit_every_transaction_with_consistent_totals(string protocol)
    {
        await PgbenchDatabase.EnsureAsync(fixture, Database);
        await using var proxy = await StartAsync(poolSize: 5, TimeSpan.FromSeconds(60));
        var user = fixture.Cluster.Superuser;

        // One thread per client: pgbench -M prepared prepares synchronously per thread, so clients sharing a thread
        // would wait on each other behind a pool smaller than the client count.
        var run = await fixture.RunPgbenchAsync(
            ["-n", "-h", "127.0.0.1", "-p", proxy.Port.ToString(CultureInfo.InvariantCulture), "-U", user,
             "-c", Clients.ToString(CultureInfo.InvariantCulture), "-j", Clients.ToString(CultureInfo.InvariantCulture),
             "-t", TransactionsPerClient.ToString(CultureInfo.InvariantCulture), "-M", protocol, Database],
            fixture.Cluster.SuperuserPassword,
            TimeSpan.FromSeconds(150));

        var output = run.StandardOutput + run.StandardError;
        Assert.True(run.Succeeded, output);
        const int Expected = Clients * TransactionsPerClient;
        Assert.Matches($"number of transactions actually processed: {Expected}/{Expected}", output);
        var failed = PgbenchDatabase.FailedTransactions().Match(output);
        Assert.True(!failed.Success || failed.Groups[1].Value == "0", output);

        var totals = await fixture.Cluster.ExecuteAsync(fixture.PrimaryPort, """
            SELECT (SELECT count(*) FROM pgbench_history),
                   (SELECT coalesce(sum(delta), 0) FROM pgbench_history),
                   (SELECT sum(abalance) FROM pgbench_accounts),
                   (SELECT sum(bbalance) FROM pgbench_branches),
                   (SELECT sum(tbalance) FROM pgbench_tellers);
            """, Database);
        var parts = totals.Split('|');
        Assert.Equal(Expected.ToString(CultureInfo.InvariantCulture), parts[0]);
        Assert.All(parts[2..], sum => Assert.Equal(parts[1], sum));
    }

    /// <summary>
    /// pgbench -M prepared with several clients per thread and fewer servers than clients (statement mode too, for -S): each thread prepares a
    /// statement synchronously (Parse + Sync, outside any transaction) before its first use while its other clients hold
    /// servers mid-transaction. The proxy answers a Parse it has seen succeed itself, so the thread is not left waiting for
    /// a server its own clients hold (which ended in checkout_timeout before, as with PgBouncer's query_wait_timeout).
    /// </summary>
    [Theory]
    [InlineData("tpcb-like", 10, 5, PoolMode.Transaction)]
    [InlineData("select-only", 10, 5, PoolMode.Transaction)]
    [InlineData("tpcb-like", 40, 2, PoolMode.Transaction)]
    [InlineData("select-only", 40, 2, PoolMode.Transaction)]
    [InlineData("select-only", 40, 2, PoolMode.Statement)]
    public async Task Pgbench_prepared_with_two_threads_and_fewer_servers_than_clients_fails_nothing(string script, int clients, int poolSize, PoolMode mode)
    {
        await PgbenchDatabase.EnsureAsync(fixture, Database);

        // Well above any honest wait on a loaded machine; a thread waiting on its own clients waits forever, so hits it.
        await using var proxy = await StartAsync(poolSize, TimeSpan.FromSeconds(20), mode);
        var run = await fixture.RunPgbenchAsync(
            ["-n", "-h", "127.0.0.1", "-p", proxy.Port.ToString(CultureInfo.InvariantCulture), "-U", fixture.Cluster.Superuser,
             "-c", clients.ToString(CultureInfo.InvariantCulture), "-j", "2", "-T", "5", "-M", "prepared", "-b", script, Database],
            fixture.Cluster.SuperuserPassword,
            TimeSpan.FromSeconds(120));

        var output = run.StandardOutput + run.StandardError;
        Assert.True(run.Succeeded, output);
        Assert.DoesNotContain("aborted", output, StringComparison.OrdinalIgnoreCase);
        var failed = PgbenchDatabase.FailedTransactions().Match(output);
        Assert.True(!failed.Success || failed.Groups[1].Value == "0", output);
        Assert.Matches(@"number of transactions actually processed: [1-9]\d*", output);
    }

    private Task<RunningProxy> StartAsync(int poolSize, TimeSpan checkoutTimeout, PoolMode mode = PoolMode.Transaction)
    {
        var config = fixture.CreateProxyConfig(mode, poolSize);
        return fixture.StartProxyOnThreadPoolAsync(config with
        {
            Pool = config.Pool with { PreparedStatements = true, CheckoutTimeout = checkoutTimeout },
            Databases = config.Databases.Add(new DatabaseConfig
            {
                Name = Database,
                Servers = [new BackendServerConfig { Host = "127.0.0.1", Port = fixture.PrimaryPort, Role = ServerRole.Primary }],
            }),
        });
    }
}
