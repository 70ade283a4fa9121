using System.Diagnostics;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Support;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests;

/// <summary>A client that vanishes mid-query (killed, socket closed by the kernel) does not take its server with it.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ClientDisconnectTests(PostgresFixture fixture)
{
    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task The_server_of_a_killed_client_is_cleaned_and_serves_the_next_client(PoolMode mode)
    {
        var application = Db.UniqueName("vanishing");
        var table = Db.UniqueName("vanishing");
        await Db.PrimaryExecuteAsync(fixture, $"CREATE TABLE {table} (id int)");
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode, poolSize: 1);
        const string Sleep = "SELECT pg_sleep(30)";

        using (var psql = BackgroundPsql.Start(fixture, proxy.Port, TestRoles.Scram, $"BEGIN; INSERT INTO {table} VALUES (1); {Sleep}; COMMIT;", application))
        {
            await Db.WaitUntilAsync(
                async () => await Db.PrimaryScalarAsync<long>(fixture, $"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{application}' AND state = 'active'") > 0,
                TimeSpan.FromSeconds(10),
                "psql's statement to run");
            psql.Kill();
            await psql.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }

        // Pool size 1: the next client needs that very server, and must not wait for the abandoned 30 s sleep.
        var stopwatch = Stopwatch.StartNew();
        await using var next = await Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram));
        Assert.Equal(1, await Db.ScalarAsync<int>(next, "SELECT 1"));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(15), $"the next client waited {stopwatch.Elapsed.TotalSeconds:0.0} s");

        // The abandoned transaction was rolled back, and the next client is not inside it.
        Assert.Equal(0L, await Db.ScalarAsync<long>(next, $"SELECT count(*) FROM {table}"));
        await Db.ExecuteAsync(next, $"INSERT INTO {table} VALUES (2)");
        Assert.Equal("2", await Db.PrimaryScalarAsync<string>(fixture, $"SELECT string_agg(id::text, ',') FROM {table}"));
        Assert.Equal(0L, await Db.PrimaryScalarAsync<long>(fixture, $"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%{Sleep}%' AND state = 'active' AND pid <> pg_backend_pid()"));
    }
}
