using System.Globalization;
using System.Text.RegularExpressions;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Support;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Demo;

namespace Sluice.Integration.Tests;

/// <summary>pgbench through Sluice: initialisation, the select-only and TPC-B-like scripts, every query protocol; no failed transaction.</summary>
[Collection(PostgresCollection.Name)]
public sealed partial class PgbenchTests(PostgresFixture fixture)
{
    private static readonly TimeSpan RunLimit = TimeSpan.FromSeconds(90);
    private static readonly TestRole User = TestRoles.Scram;

    [Fact]
    public async Task Pgbench_initialises_its_tables_through_the_proxy()
    {
        await using var proxy = await TestSetup.StartProxyAsync(fixture, PoolMode.Session);

        var result = await PgbenchAsync(proxy.Port, "-i", "-s", "1", "-q");

        Assert.True(result.Succeeded, result.StandardError);
        Assert.Contains("done in", result.StandardError, StringComparison.Ordinal);
        Assert.Equal(100_000L, await Db.PrimaryScalarAsync<long>(fixture, "SELECT count(*) FROM pgbench_accounts"));
        Assert.Equal(10L, await Db.PrimaryScalarAsync<long>(fixture, "SELECT count(*) FROM pgbench_tellers"));
        Assert.Equal(1L, await Db.PrimaryScalarAsync<long>(fixture, "SELECT count(*) FROM pgbench_branches"));
        Assert.True(await Db.PrimaryScalarAsync<bool>(fixture, "SELECT EXISTS (SELECT FROM pg_constraint WHERE conname = 'pgbench_accounts_pkey')"));
    }

    [Theory]
    [InlineData(PoolMode.Session, "simple")]
    [InlineData(PoolMode.Session, "extended")]
    [InlineData(PoolMode.Session, "prepared")]
    [InlineData(PoolMode.Transaction, "simple")]
    [InlineData(PoolMode.Transaction, "extended")]
    public async Task Select_only_run_with_10_clients_has_no_failures(PoolMode mode, string protocol)
    {
        await InitializeOnPrimaryAsync();
        // Session mode needs a server per client; transaction mode shares fewer.
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode, poolSize: mode == PoolMode.Session ? 10 : 4);

        var result = await PgbenchAsync(proxy.Port, "-n", "-c", "10", "-j", "2", "-T", "5", "-S", "-M", protocol);

        AssertCleanRun(result);
    }

    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Tpcb_like_run_with_5_clients_has_no_failures(PoolMode mode)
    {
        await InitializeOnPrimaryAsync();
        var historyBefore = await Db.PrimaryScalarAsync<long>(fixture, "SELECT count(*) FROM pgbench_history");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode, poolSize: mode == PoolMode.Session ? 5 : 2);

        var result = await PgbenchAsync(proxy.Port, "-n", "-c", "5", "-j", "2", "-T", "5");

        var processed = AssertCleanRun(result);
        // Every TPC-B transaction inserts one history row, committed on the primary.
        Assert.Equal(processed, await Db.PrimaryScalarAsync<long>(fixture, "SELECT count(*) FROM pgbench_history") - historyBefore);
        Assert.Equal(0L, await Db.PrimaryScalarAsync<long>(fixture, "SELECT (SELECT sum(abalance) FROM pgbench_accounts) - (SELECT sum(delta) FROM pgbench_history)"));
    }

    /// <summary>Checks pgbench's summary: it ended well, processed transactions, and none failed. Returns the processed count.</summary>
    private static long AssertCleanRun(ProcessResult result)
    {
        Assert.True(result.Succeeded, $"pgbench exited with {result.ExitCode}:\n{result.StandardError}\n{result.StandardOutput}");
        var processed = ProcessedPattern().Match(result.StandardOutput);
        var failed = FailedPattern().Match(result.StandardOutput);
        Assert.True(processed.Success, "no processed count in pgbench's output:\n" + result.StandardOutput);
        Assert.True(failed.Success, "no failed count in pgbench's output:\n" + result.StandardOutput);
        Assert.Equal("0", failed.Groups[1].Value);
        var count = long.Parse(processed.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(count > 0, "pgbench processed no transaction:\n" + result.StandardOutput);
        return count;
    }

    private async Task InitializeOnPrimaryAsync()
    {
        var result = await PgbenchAsync(fixture.PrimaryPort, "-i", "-s", "1", "-q");
        Assert.True(result.Succeeded, result.StandardError);
    }

    private Task<ProcessResult> PgbenchAsync(int port, params string[] arguments) =>
        fixture.RunPgbenchAsync(
            [.. arguments, "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-U", User.Name, PostgresFixture.Database],
            User.Password,
            RunLimit);

    [GeneratedRegex(@"^number of transactions actually processed: (\d+)", RegexOptions.Multiline)]
    private static partial Regex ProcessedPattern();

    [GeneratedRegex(@"^number of failed transactions: (\d+)", RegexOptions.Multiline)]
    private static partial Regex FailedPattern();
}
