using Npgsql;
using Sluice.Proxy.Demo;

namespace Sluice.Testing;

/// <summary>What tests do to a <see cref="PostgresCluster"/> that `sluice demo` never does: connect with Npgsql, fail over.</summary>
public static class PostgresClusterExtensions
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    /// <summary>An Npgsql connection string to one server; the superuser unless told otherwise; Npgsql pooling off.</summary>
    public static string ConnectionString(this PostgresCluster cluster, int port, string database = "postgres", string? user = null, string? password = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Database = database,
            Username = user ?? cluster.Superuser,
            Password = user is null ? cluster.SuperuserPassword : password,
            Pooling = false,
            Timeout = 15,
        };
        return builder.ConnectionString;
    }

    /// <summary>pg_ctl promote on the replica; returns once it accepts writes. The old primary is left as it is.</summary>
    public static async Task PromoteReplicaAsync(this PostgresCluster cluster, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        if (!cluster.HasReplica)
        {
            throw new InvalidOperationException("This cluster was started without a replica.");
        }

        var result = await cluster.Installation.RunAsServerUserAsync(
            "pg_ctl", ["-D", cluster.ReplicaDataDirectory, "-w", "-t", "60", "promote"], CommandTimeout, cluster.DataRoot, cancellationToken: cancellationToken);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"Promoting the replica failed: {result.StandardError.Trim()}");
        }
    }
}
