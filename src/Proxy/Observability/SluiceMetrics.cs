using System.Diagnostics.Metrics;

namespace Sluice.Proxy.Observability;

/// <summary>
/// Sluice's instruments, all on one <see cref="System.Diagnostics.Metrics.Meter"/> named <c>Sluice</c>. The recording
/// methods are called on the data path: they allocate nothing and cost a few nanoseconds when nothing listens.
/// </summary>
/// <remarks>
/// Instrument names are the Prometheus names of <c>CONTRACT.md</c>, except that counters leave off <c>_total</c>,
/// which <see cref="PrometheusExporter"/> appends to every counter (so the meter also reads naturally in
/// <c>dotnet-counters</c> or an OpenTelemetry exporter). Durations are recorded in seconds, sizes in bytes.
/// Label values come from the config (database, user, server names) or closed sets, never from what an
/// unauthenticated client sends, which keeps the number of series bounded.
/// </remarks>
public sealed class SluiceMetrics : IDisposable
{
    public const string MeterName = "Sluice";

    /// <summary>The bucket upper bounds, in seconds, of both duration histograms.</summary>
    public static IReadOnlyList<double> DurationBucketBoundaries { get; } =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private const string DatabaseLabel = "database";
    private const string UserLabel = "user";
    private const string RouteLabel = "route";
    private const string ServerLabel = "server";
    private const string RoleLabel = "role";
    private const string StateLabel = "state";

    /// <summary>The <c>sqlstate_class</c> of a code that is not two letters or digits.</summary>
    internal const string UnknownSqlStateClass = "unknown";

    // One slot per possible two-character class ([0-9A-Z]²), filled on first use, so that Error() does not allocate
    // a substring per call and a misbehaving server cannot grow it beyond 1296 strings.
    private static readonly string?[] s_sqlStateClasses = new string?[36 * 36];

    private static readonly KeyValuePair<string, object?> s_clientToServer = new("direction", "client_to_server");
    private static readonly KeyValuePair<string, object?> s_serverToClient = new("direction", "server_to_client");

    private readonly Counter<long> _transactions;
    private readonly Counter<long> _queries;
    private readonly Histogram<double> _queryDuration;
    private readonly Counter<long> _errors;
    private readonly Counter<long> _statementTimeouts;
    private readonly Counter<long> _rejectedConnections;
    private readonly Counter<long> _bytes;
    private readonly Histogram<double> _checkoutWait;
    private readonly Counter<long> _reads;
    private readonly Counter<long> _readFloorWaits;
    private readonly Counter<long> _readFloorFallbacks;
    private volatile IMetricsSource? _source;

    public SluiceMetrics(IMetricsSource? source = null)
    {
        _source = source;
        Meter = new Meter(MeterName, typeof(SluiceMetrics).Assembly.GetName().Version?.ToString());
        var durationAdvice = new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBucketBoundaries };

        _transactions = Meter.CreateCounter<long>(
            "sluice_transactions", "{transaction}", "Transactions completed, by database and the route they took.");
        _queries = Meter.CreateCounter<long>(
            "sluice_queries", "{query}", "Queries completed, by database and the route they took.");
        _queryDuration = Meter.CreateHistogram(
            "sluice_query_duration_seconds", "s", "Time from a query reaching the proxy to its result leaving it, in seconds.",
            tags: null, advice: durationAdvice);
        _errors = Meter.CreateCounter<long>(
            "sluice_errors", "{error}", "Error responses sent to clients, by database and SQLSTATE class (first two characters).");
        _statementTimeouts = Meter.CreateCounter<long>(
            "sluice_statement_timeouts", "{statement}", "Statements cancelled by the proxy's statement_timeout.");
        _rejectedConnections = Meter.CreateCounter<long>(
            "sluice_rejected_connections", "{connection}", "Client connections refused, by reason.");
        _bytes = Meter.CreateCounter<long>(
            "sluice_bytes", "By", "Bytes forwarded between clients and servers, by direction.");
        _checkoutWait = Meter.CreateHistogram(
            "sluice_checkout_wait_seconds", "s", "Time clients waited for a server connection from a pool, in seconds.",
            tags: null, advice: durationAdvice);
        _reads = Meter.CreateCounter<long>(
            "sluice_reads", "{transaction}", "Transactions routed as reads, by database and where they ran (replica or primary).");
        _readFloorWaits = Meter.CreateCounter<long>(
            "sluice_read_floor_waits", "{transaction}", "Reads that waited for a replica to replay the writes they must see.");
        _readFloorFallbacks = Meter.CreateCounter<long>(
            "sluice_read_floor_fallbacks", "{transaction}", "Reads run on the primary because no replica replayed their floor within max_read_wait.");

        Meter.CreateObservableGauge(
            "sluice_client_connections", ObserveClientConnections, "{connection}", "Client connections, by database, user and state.");
        Meter.CreateObservableGauge(
            "sluice_clients_pinned", ObservePinnedClients, "{client}", "Clients tied to their server by session state (LISTEN, advisory lock, ...).");
        Meter.CreateObservableGauge(
            "sluice_server_connections", ObserveServerConnections, "{connection}", "Server connections, by pool, server role and state.");
        Meter.CreateObservableGauge(
            "sluice_pool_waiting_clients", ObservePoolWaitingClients, "{client}", "Clients waiting for a server connection.");
        Meter.CreateObservableGauge(
            "sluice_server_up", ObserveServerUp, null, "1 when the server is reachable and healthy, 0 when it is down or banned.");
        Meter.CreateObservableGauge(
            "sluice_replica_lag_seconds", ObserveReplicaLagSeconds, "s", "Replication replay lag of a replica, in seconds.");
        Meter.CreateObservableGauge(
            "sluice_replica_lag_bytes", ObserveReplicaLagBytes, "By", "Replication replay lag of a replica, in WAL bytes.");
        Meter.CreateObservableGauge(
            "sluice_server_wal_lsn", ObserveServerWalLsn, "By", "A primary's insert position or a replica's replay position, as a WAL byte offset.");
        Meter.CreateObservableGauge(
            "sluice_read_floor_lsn", ObserveReadFloors, "By", "The WAL position replicas must have replayed to take causal reads, as a WAL byte offset.");
    }

    /// <summary>The meter every instrument lives on; give it to <see cref="PrometheusExporter"/>.</summary>
    public Meter Meter { get; }

    /// <summary>Where the gauges read the proxy's state from; null (the default) writes no gauge samples.</summary>
    public IMetricsSource? Source
    {
        get => _source;
        set => _source = value;
    }

    /// <summary>A transaction (or, outside transaction pooling, a statement outside a transaction block) finished.</summary>
    /// <param name="database">The database name clients connect to.</param>
    /// <param name="route"><c>primary</c> or <c>replica</c>.</param>
    public void TransactionCompleted(string database, string route) =>
        _transactions.Add(1, new KeyValuePair<string, object?>(DatabaseLabel, database), new KeyValuePair<string, object?>(RouteLabel, route));

    /// <summary>A query finished after <paramref name="seconds"/>; counts it and records its duration.</summary>
    /// <param name="database">The database name clients connect to.</param>
    /// <param name="route"><c>primary</c> or <c>replica</c>.</param>
    /// <param name="seconds">The query's duration.</param>
    public void QueryCompleted(string database, string route, double seconds)
    {
        var databaseTag = new KeyValuePair<string, object?>(DatabaseLabel, database);
        var routeTag = new KeyValuePair<string, object?>(RouteLabel, route);
        _queries.Add(1, databaseTag, routeTag);
        _queryDuration.Record(seconds, databaseTag, routeTag);
    }

    /// <summary>An ErrorResponse went to a client; <paramref name="sqlState"/> is its full five-character code.</summary>
    public void Error(string database, string sqlState) => Error(database, sqlState.AsSpan());

    /// <inheritdoc cref="Error(string, string)"/>
    public void Error(string database, ReadOnlySpan<char> sqlState) =>
        _errors.Add(1, new KeyValuePair<string, object?>(DatabaseLabel, database), new KeyValuePair<string, object?>("sqlstate_class", SqlStateClass(sqlState)));

    /// <summary>The proxy cancelled a statement of <paramref name="user"/> for exceeding its statement_timeout.</summary>
    public void StatementTimeout(string database, string user) =>
        _statementTimeouts.Add(1, new KeyValuePair<string, object?>(DatabaseLabel, database), new KeyValuePair<string, object?>(UserLabel, user));

    /// <summary>A client connection was refused.</summary>
    public void ConnectionRejected(RejectionReason reason) =>
        _rejectedConnections.Add(1, new KeyValuePair<string, object?>("reason", ReasonLabel(reason)));

    /// <summary><paramref name="bytes"/> were forwarded; call it per read or per flush, not per message.</summary>
    public void BytesTransferred(TrafficDirection direction, long bytes)
    {
        if (bytes > 0)
        {
            _bytes.Add(bytes, direction == TrafficDirection.ClientToServer ? s_clientToServer : s_serverToClient);
        }
    }

    /// <summary>A transaction routed as a read ran on <paramref name="route"/> (<c>replica</c> or <c>primary</c>).</summary>
    public void ReadRouted(string database, string route) =>
        _reads.Add(1, new KeyValuePair<string, object?>(DatabaseLabel, database), new KeyValuePair<string, object?>(RouteLabel, route));

    /// <summary>A read waited for fresher replica positions because none was known to have replayed its floor.</summary>
    public void ReadFloorWait(string database) => _readFloorWaits.Add(1, new KeyValuePair<string, object?>(DatabaseLabel, database));

    /// <summary>A read went to the primary because no replica replayed its floor within max_read_wait.</summary>
    public void ReadFloorFallback(string database) => _readFloorFallbacks.Add(1, new KeyValuePair<string, object?>(DatabaseLabel, database));

    /// <summary>A client waited <paramref name="seconds"/> for a server connection (record 0 for an immediate checkout).</summary>
    public void CheckoutWait(double seconds) => _checkoutWait.Record(seconds);

    public void Dispose() => Meter.Dispose();

    /// <summary>
    /// Records zero on every series whose labels come from a closed set, so that they exist (and rate() works) from
    /// the first scrape rather than from the first event.
    /// </summary>
    internal void PublishZeroSeries()
    {
        _bytes.Add(0, s_clientToServer);
        _bytes.Add(0, s_serverToClient);
        foreach (var reason in Enum.GetValues<RejectionReason>())
        {
            _rejectedConnections.Add(0, new KeyValuePair<string, object?>("reason", ReasonLabel(reason)));
        }
    }

    internal static string ReasonLabel(RejectionReason reason) => reason switch
    {
        RejectionReason.MaxClientConnections => "max_client_connections",
        RejectionReason.MaxUserClientConnections => "max_user_client_connections",
        RejectionReason.AuthFailed => "auth_failed",
        RejectionReason.UnknownDatabase => "unknown_database",
        RejectionReason.Allowlist => "allowlist",
        RejectionReason.LoginTimeout => "login_timeout",
        RejectionReason.ProtocolViolation => "protocol_violation",
        RejectionReason.Draining => "draining",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    internal static string SqlStateClass(ReadOnlySpan<char> sqlState)
    {
        if (sqlState.Length < 2)
        {
            return UnknownSqlStateClass;
        }

        var first = ClassCharIndex(sqlState[0]);
        var second = ClassCharIndex(sqlState[1]);
        if (first < 0 || second < 0)
        {
            return UnknownSqlStateClass;
        }

        // Racing threads may each create the string; either copy is equal, so the lost one is just garbage.
        ref var slot = ref s_sqlStateClasses[(first * 36) + second];
        return slot ??= new string([sqlState[0], sqlState[1]]);
    }

    private static int ClassCharIndex(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'A' and <= 'Z' => c - 'A' + 10,
        _ => -1,
    };

    private IEnumerable<Measurement<long>> ObserveClientConnections()
    {
        if (_source is not { } source)
        {
            yield break;
        }

        foreach (var gauge in source.GetClientConnections())
        {
            yield return new Measurement<long>(
                gauge.Count,
                new KeyValuePair<string, object?>(DatabaseLabel, gauge.Database),
                new KeyValuePair<string, object?>(UserLabel, gauge.User),
                new KeyValuePair<string, object?>(StateLabel, gauge.State));
        }
    }

    private IEnumerable<Measurement<long>> ObservePinnedClients() =>
        ObserveClientCounts(source => source.GetPinnedClients().Select(gauge => (gauge.Database, gauge.User, gauge.Count)));

    private IEnumerable<Measurement<long>> ObserveServerConnections()
    {
        if (_source is not { } source)
        {
            yield break;
        }

        foreach (var gauge in source.GetServerConnections())
        {
            yield return new Measurement<long>(
                gauge.Count,
                new KeyValuePair<string, object?>(DatabaseLabel, gauge.Database),
                new KeyValuePair<string, object?>(UserLabel, gauge.User),
                new KeyValuePair<string, object?>(ServerLabel, gauge.Server),
                new KeyValuePair<string, object?>(RoleLabel, gauge.Role),
                new KeyValuePair<string, object?>(StateLabel, gauge.State));
        }
    }

    private IEnumerable<Measurement<long>> ObservePoolWaitingClients() =>
        ObserveClientCounts(source => source.GetPoolWaitingClients().Select(gauge => (gauge.Database, gauge.User, gauge.Count)));

    /// <summary>A count of clients per (database, user): sluice_pool_waiting_clients and sluice_clients_pinned.</summary>
    private IEnumerable<Measurement<long>> ObserveClientCounts(Func<IMetricsSource, IEnumerable<(string Database, string User, long Count)>> read)
    {
        if (_source is not { } source)
        {
            yield break;
        }

        foreach (var (database, user, count) in read(source))
        {
            yield return new Measurement<long>(
                count,
                new KeyValuePair<string, object?>(DatabaseLabel, database),
                new KeyValuePair<string, object?>(UserLabel, user));
        }
    }

    private IEnumerable<Measurement<long>> ObserveServerUp()
    {
        if (_source is not { } source)
        {
            yield break;
        }

        foreach (var gauge in source.GetServers())
        {
            yield return new Measurement<long>(
                gauge.Up ? 1 : 0,
                new KeyValuePair<string, object?>(DatabaseLabel, gauge.Database),
                new KeyValuePair<string, object?>(ServerLabel, gauge.Server),
                new KeyValuePair<string, object?>(RoleLabel, gauge.Role));
        }
    }

    private IEnumerable<Measurement<double>> ObserveReplicaLagSeconds()
    {
        if (_source is not { } source)
        {
            yield break;
        }

        foreach (var gauge in source.GetServers())
        {
            if (gauge.LagSeconds is { } lag)
            {
                yield return new Measurement<double>(
                    lag,
                    new KeyValuePair<string, object?>(DatabaseLabel, gauge.Database),
                    new KeyValuePair<string, object?>(ServerLabel, gauge.Server));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveReplicaLagBytes()
    {
        if (_source is not { } source)
        {
            yield break;
        }

        foreach (var gauge in source.GetServers())
        {
            if (gauge.LagBytes is { } lag)
            {
                yield return new Measurement<long>(
                    lag,
                    new KeyValuePair<string, object?>(DatabaseLabel, gauge.Database),
                    new KeyValuePair<string, object?>(ServerLabel, gauge.Server));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveServerWalLsn()
    {
        if (_source is not { } source)
        {
            yield break;
        }

        foreach (var gauge in source.GetServers())
        {
            if (gauge.WalLsn is { } lsn)
            {
                yield return new Measurement<long>(
                    lsn,
                    new KeyValuePair<string, object?>(DatabaseLabel, gauge.Database),
                    new KeyValuePair<string, object?>(ServerLabel, gauge.Server),
                    new KeyValuePair<string, object?>(RoleLabel, gauge.Role));
            }
        }
    }

    private IEnumerable<Measurement<long>> ObserveReadFloors()
    {
        if (_source is not { } source)
        {
            yield break;
        }

        foreach (var gauge in source.GetReadFloors())
        {
            yield return new Measurement<long>(gauge.Lsn, new KeyValuePair<string, object?>(DatabaseLabel, gauge.Database));
        }
    }
}
