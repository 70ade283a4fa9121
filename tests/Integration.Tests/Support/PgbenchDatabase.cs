using System.Globalization;
using System.Text.RegularExpressions;
using Sluice.Integration.Tests.Fixtures;

namespace Sluice.Integration.Tests.Support;

/// <summary>A database on the fixture's primary with pgbench's tables, and what pgbench's summary says.</summary>
internal static partial class PgbenchDatabase
{
    /// <summary>Creates <paramref name="database"/> when missing and (re)initialises pgbench's tables in it, scale 1.</summary>
    public static async Task EnsureAsync(PostgresFixture fixture, string database)
    {
        if (await fixture.Cluster.ExecuteOnPrimaryAsync($"SELECT 1 FROM pg_database WHERE datname = '{database}'") != "1")
        {
            await fixture.Cluster.ExecuteOnPrimaryAsync($"CREATE DATABASE {database}");
        }

        var init = await fixture.RunPgbenchAsync(
            ["-i", "-q", "-s", "1", "-h", "127.0.0.1", "-p", fixture.PrimaryPort.ToString(CultureInfo.InvariantCulture), "-U", fixture.Cluster.Superuser, database],
            fixture.Cluster.SuperuserPassword,
            TimeSpan.FromSeconds(120));
        Assert.True(init.Succeeded, init.StandardError);
    }

    /// <summary>"number of failed transactions: N" of pgbench's summary; group 1 is N.</summary>
    [GeneratedRegex(@"number of failed transactions: (\d+)")]
    public static partial Regex FailedTransactions();
}
