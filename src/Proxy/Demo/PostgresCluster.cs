namespace Sluice.Proxy.Demo;

/// <summary>
/// A throwaway PostgreSQL primary and streaming replica under a temporary folder, on free loopback ports:
/// used by `sluice demo` and by the integration test fixture, so both start PostgreSQL the same way.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    public required string DataRoot { get; init; }

    public required string BinDirectory { get; init; }

    public required int PrimaryPort { get; init; }

    public required int ReplicaPort { get; init; }

    /// <summary>A superuser on both servers, with <see cref="SuperuserPassword"/>.</summary>
    public string Superuser { get; init; } = "postgres";

    public string SuperuserPassword { get; init; } = "postgres";

    /// <summary>
    /// initdb (as an unprivileged OS user when running as root), start the primary, pg_basebackup a streaming replica,
    /// start it, wait until both accept connections and the replica is streaming.
    /// </summary>
    public static Task<PostgresCluster> StartAsync(PostgresClusterOptions options, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Runs SQL as the superuser on the primary (through psql).</summary>
    public Task<string> ExecuteOnPrimaryAsync(string sql, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Stops both servers (fast shutdown) and removes the folder.</summary>
    public ValueTask DisposeAsync() => throw new NotImplementedException();
}

public sealed record PostgresClusterOptions
{
    /// <summary>Where the data folders go; null = a new folder under the system temp path.</summary>
    public string? Root { get; init; }

    /// <summary>Extra postgresql.conf lines for both servers.</summary>
    public IReadOnlyList<string> ExtraSettings { get; init; } = [];

    /// <summary>When false, only the primary is started.</summary>
    public bool WithReplica { get; init; } = true;

    /// <summary>Where PostgreSQL's own output goes (log lines of initdb/pg_ctl); null = discarded.</summary>
    public TextWriter? Log { get; init; }
}
