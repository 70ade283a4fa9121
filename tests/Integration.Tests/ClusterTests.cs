using System.Net.Sockets;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Demo;

namespace Sluice.Integration.Tests;

/// <summary>The shared primary + replica is what the other integration tests assume it is.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ClusterTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Primary_answers_and_is_writable()
    {
        await using var connection = await OpenAsync(fixture.PrimaryConnectionString());

        Assert.Equal(1, await ScalarAsync<int>(connection, "SELECT 1"));
        Assert.False(await ScalarAsync<bool>(connection, "SELECT pg_is_in_recovery()"));
    }

    [Fact]
    public async Task Replica_is_a_streaming_standby_of_the_primary()
    {
        await using var replica = await OpenAsync(fixture.ReplicaConnectionString());
        await using var primary = await OpenAsync(fixture.PrimaryConnectionString());

        Assert.True(await ScalarAsync<bool>(replica, "SELECT pg_is_in_recovery()"));
        Assert.Equal(1L, await ScalarAsync<long>(primary, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"));
    }

    [Fact]
    public async Task Row_inserted_on_the_primary_shows_on_the_replica()
    {
        var marker = Guid.NewGuid().ToString();
        await using var primary = await OpenAsync(fixture.PrimaryConnectionString());
        await ExecuteAsync(primary, "CREATE TABLE IF NOT EXISTS cluster_smoke (marker text)");
        await ExecuteAsync(primary, $"INSERT INTO cluster_smoke VALUES ('{marker}')");

        await using var replica = await OpenAsync(fixture.ReplicaConnectionString());
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await ReplicaHasAsync(replica, marker))
        {
            Assert.True(DateTime.UtcNow < deadline, "the row did not reach the replica within 10 s");
            await Task.Delay(50);
        }
    }

    [Theory]
    [InlineData("scram_user")]
    [InlineData("md5_user")]
    [InlineData("plain_user")]
    [InlineData("trust_user")]
    public async Task Each_test_role_logs_in_with_its_own_password(string name)
    {
        var role = TestRoles.ByName(name);

        await using var connection = await OpenAsync(fixture.PrimaryConnectionString(role: role));

        Assert.Equal(role.Name, await ScalarAsync<string>(connection, "SELECT current_user"));
    }

    [Theory]
    [InlineData("scram_user")]
    [InlineData("md5_user")]
    [InlineData("plain_user")]
    public async Task Password_roles_are_refused_with_a_wrong_password(string name)
    {
        var role = TestRoles.ByName(name) with { Password = "wrong" };

        var error = await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(fixture.PrimaryConnectionString(role: role)));

        Assert.Equal(PostgresErrorCodes.InvalidPassword, error.SqlState);
    }

    [Fact]
    public async Task Md5_role_has_an_md5_hash_and_the_others_scram_verifiers()
    {
        await using var connection = await OpenAsync(fixture.PrimaryConnectionString());

        Assert.StartsWith("md5", await ScalarAsync<string>(connection, "SELECT rolpassword FROM pg_authid WHERE rolname = 'md5_user'"), StringComparison.Ordinal);
        Assert.StartsWith("SCRAM-SHA-256$", await ScalarAsync<string>(connection, "SELECT rolpassword FROM pg_authid WHERE rolname = 'scram_user'"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Psql_helper_returns_rows_and_errors()
    {
        var ok = await fixture.RunPsqlAsync(fixture.PrimaryPort, "SELECT 40 + 2", TestRoles.Scram.Name, TestRoles.Scram.Password);
        var failed = await fixture.RunPsqlAsync(fixture.PrimaryPort, "SELECT * FROM no_such_table", TestRoles.Scram.Name, TestRoles.Scram.Password);

        Assert.Equal((0, "42"), (ok.ExitCode, ok.StandardOutput.Trim()));
        Assert.NotEqual(0, failed.ExitCode);
        Assert.Contains("no_such_table", failed.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cluster_of_its_own_fails_over_and_disposing_leaves_nothing_behind()
    {
        var cluster = await PostgresCluster.StartAsync(new PostgresClusterOptions());
        var root = cluster.DataRoot;
        try
        {
            await cluster.StopServerAsync(ClusterNode.Primary);
            Assert.False(await AcceptsConnectionsAsync(cluster.PrimaryPort));

            await cluster.PromoteReplicaAsync();
            Assert.Equal("f", await cluster.ExecuteAsync(cluster.ReplicaPort, "SELECT pg_is_in_recovery()"));
            await cluster.ExecuteAsync(cluster.ReplicaPort, "CREATE TABLE written_after_failover (id int)");

            await cluster.StartServerAsync(ClusterNode.Primary);
            Assert.Equal("1", await cluster.ExecuteOnPrimaryAsync("SELECT 1"));
        }
        finally
        {
            await cluster.DisposeAsync();
        }

        Assert.False(Directory.Exists(root));
        Assert.False(await AcceptsConnectionsAsync(cluster.PrimaryPort));
        Assert.False(await AcceptsConnectionsAsync(cluster.ReplicaPort));
    }

    private static async Task<bool> AcceptsConnectionsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async Task<bool> ReplicaHasAsync(NpgsqlConnection replica, string marker) =>
        await ScalarAsync<bool>(replica, "SELECT to_regclass('cluster_smoke') IS NOT NULL")
        && await ScalarAsync<long>(replica, $"SELECT count(*) FROM cluster_smoke WHERE marker = '{marker}'") == 1;

    private static async Task<NpgsqlConnection> OpenAsync(string connectionString)
    {
        var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync();
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
