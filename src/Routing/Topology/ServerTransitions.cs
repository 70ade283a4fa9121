using System.Collections.Immutable;

namespace Sluice.Routing.Topology;

/// <summary>How one check's outcome changes a server's state. Pure: time comes in as an argument.</summary>
public static class ServerTransitions
{
    /// <summary>
    /// A check succeeded. The role is what the server says (<c>pg_is_in_recovery()</c>), whatever the config said:
    /// a configured primary that came back as a standby is a replica and gets no writes, a promoted replica is the
    /// primary. A replica's lag is measured against <paramref name="database"/>'s up primary.
    /// </summary>
    public static ServerState Succeeded(ServerState server, ServerProbe probe, DateTimeOffset at, DatabaseTopology database, TopologySettings settings)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(settings);
        var checkedState = server with
        {
            Health = ServerHealth.Up,
            Checks = server.Checks + 1,
            LastCheckAt = at,
            BannedUntil = null,
            LastError = null,
            WalLsn = probe.WalLsn,
        };

        var role = probe.InRecovery ? ObservedRole.Replica : ObservedRole.Primary;
        if (role != server.ObservedRole)
        {
            checkedState = checkedState with { RoleSinceCheck = checkedState.Checks };
        }

        if (role == ObservedRole.Primary)
        {
            return checkedState with
            {
                ObservedRole = ObservedRole.Primary,
                ReceiveLsn = null,
                Lag = null,
                LagBytes = null,
                WalHistory = Append(server.ObservedRole == ObservedRole.Primary ? server.WalHistory : [], new WalSample(at, probe.WalLsn), settings),
            };
        }

        var lag = ReplicaLag.Measure(ReferenceHistory(database, server), probe, at);
        return checkedState with
        {
            ObservedRole = ObservedRole.Replica,
            ReceiveLsn = probe.ReceiveLsn,
            Lag = lag.Time,
            LagBytes = lag.Bytes,
            WalHistory = [],
        };
    }

    /// <summary>
    /// A check failed: the server is down. A replica (or a server never seen writable) is banned for ban_time: no
    /// traffic and no checks until then. The primary is never banned into silence: it is checked again at every
    /// interval, so writes resume as soon as it answers.
    /// </summary>
    public static ServerState Failed(ServerState server, string error, DateTimeOffset at, TopologySettings settings)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(settings);
        var ban = server.Role != ObservedRole.Primary && settings.BanTime > TimeSpan.Zero;
        return server with
        {
            Health = ServerHealth.Down,
            Checks = server.Checks + 1,
            LastCheckAt = at,
            LastError = error,
            BannedUntil = ban ? at + settings.BanTime : null,
            Lag = null,
            LagBytes = null,
        };
    }

    /// <summary>
    /// One of the proxy's own connections to the server broke (a connection error, or 57P01/57P02/57P03: the server is
    /// shutting down or restarting). Until a check says otherwise the server is down and takes no new transactions;
    /// the caller has it checked at once. Not a check: <see cref="ServerState.Checks"/> and the time of the last check
    /// stay, so that waiting for "the next check" still waits for a real one. A server already down stays as it is.
    /// </summary>
    public static ServerState Suspected(ServerState server, string error)
    {
        ArgumentNullException.ThrowIfNull(server);
        return server.Health == ServerHealth.Down ? server : server with { Health = ServerHealth.Down, LastError = error };
    }

    /// <summary>The write positions of the database's up primary (the first one, when fenced); empty without one.</summary>
    private static ImmutableArray<WalSample> ReferenceHistory(DatabaseTopology database, ServerState replica)
    {
        foreach (var candidate in database.Servers)
        {
            if (!ReferenceEquals(candidate.Node, replica.Node) && candidate.Health == ServerHealth.Up && candidate.ObservedRole == ObservedRole.Primary)
            {
                return candidate.WalHistory;
            }
        }

        return [];
    }

    private static ImmutableArray<WalSample> Append(ImmutableArray<WalSample> history, WalSample sample, TopologySettings settings)
    {
        if (history.IsDefaultOrEmpty || history[^1].Lsn > sample.Lsn || history[^1].At > sample.At)
        {
            // First sample, or the server went backwards (restored, another timeline): older samples say nothing now.
            return [sample];
        }

        // Samples at the same position add nothing but the newest time the primary was there: replace the last one.
        var keepFrom = 0;
        var oldest = sample.At - settings.WalHistoryWindow;
        while (keepFrom < history.Length - 1 && history[keepFrom].At < oldest)
        {
            keepFrom++;
        }

        var end = history[^1].Lsn == sample.Lsn ? history.Length - 1 : history.Length;
        var count = end - keepFrom;
        if (count >= settings.WalHistoryLimit)
        {
            keepFrom += count - settings.WalHistoryLimit + 1;
            count = settings.WalHistoryLimit - 1;
        }

        var builder = ImmutableArray.CreateBuilder<WalSample>(Math.Max(count, 0) + 1);
        for (var i = keepFrom; i < end; i++)
        {
            builder.Add(history[i]);
        }

        builder.Add(sample);
        return builder.MoveToImmutable();
    }
}
