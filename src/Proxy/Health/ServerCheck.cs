using System.Globalization;
using Npgsql;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.Health;

/// <summary>The one query a health check runs, and how its row becomes a <see cref="ServerProbe"/>.</summary>
internal static class ServerCheck
{
    // LSNs come back as text (parsed by Lsn, no type loading needed); the replay age as float8 seconds, computed on
    // the server so that its own clock is compared with its own timestamps. On a primary the insert position, not the
    // write position: with synchronous_commit = off a commit is acknowledged before its WAL is written, and a
    // read-your-writes floor taken from the write position could fall short of it.
    public const string Query =
        "SELECT pg_is_in_recovery(), " +
        "(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END)::text, " +
        "pg_last_wal_receive_lsn()::text, " +
        "extract(epoch from now() - pg_last_xact_replay_timestamp())::float8";

    /// <summary>Runs the check on an open connection. Throws what Npgsql throws; a row that makes no sense is an <see cref="InvalidDataException"/>.</summary>
    public static async Task<ServerProbe> RunAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(Query, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            throw new InvalidDataException("the health check query returned no row");
        }

        var inRecovery = reader.GetBoolean(0);
        var wal = reader.IsDBNull(1) ? null : reader.GetString(1);
        var receive = reader.IsDBNull(2) ? null : reader.GetString(2);
        double? replayAge = reader.IsDBNull(3) ? null : reader.GetDouble(3);
        return TryRead(inRecovery, wal, receive, replayAge, out var probe, out var error) ? probe : throw new InvalidDataException(error);
    }

    /// <summary>Turns the query's columns into a probe; false (with why) when the server reported no usable WAL position.</summary>
    public static bool TryRead(bool inRecovery, string? walLsn, string? receiveLsn, double? replayAgeSeconds, out ServerProbe probe, out string error)
    {
        probe = default;
        if (walLsn is null || !Lsn.TryParse(walLsn, out var wal))
        {
            error = string.Create(CultureInfo.InvariantCulture, $"the server reported no valid {(inRecovery ? "replay" : "current")} WAL position ('{walLsn ?? "NULL"}')");
            return false;
        }

        Lsn? receive = receiveLsn is not null && Lsn.TryParse(receiveLsn, out var received) ? received : null;
        TimeSpan? replayAge = replayAgeSeconds is { } seconds && double.IsFinite(seconds) ? TimeSpan.FromSeconds(seconds) : null;
        probe = inRecovery ? ServerProbe.Replica(wal, receive, replayAge) : ServerProbe.Primary(wal);
        error = "";
        return true;
    }
}
