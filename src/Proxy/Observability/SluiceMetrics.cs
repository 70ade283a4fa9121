using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Sluice.Proxy.Observability;

/// <summary>
/// Sluice's Prometheus metrics: prometheus-net collectors in a registry of their own (so several proxies or tests in
/// one process never see each other's numbers), written in the text format 0.0.4 by <see cref="WriteToAsync"/>.
/// </summary>
/// <remarks>
/// The recording methods are called on the data path. Each finds its series in a <see cref="BoundedSeries{TKey,TSeries}"/>
/// (one dictionary read) and adds to it with interlocked operations: no allocation, no lock. prometheus-net's own
/// label lookup (<c>WithLabels(params string[])</c>) would allocate per call, and its adapter over
/// System.Diagnostics.Metrics costs more still per measurement (bench/RESULTS.md, "Metrics on the hot path").
/// Gauges are read from <see cref="Source"/> when scraped, never on the data path. Label values come from the config
/// (database, user, server names) or closed sets, never from what an unauthenticated client sends.
/// </remarks>
public sealed partial class SluiceMetrics
{
    /// <summary>The Content-Type of what <see cref="WriteToAsync"/> writes.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>
    /// Distinct label sets kept per metric the data path records into; measurements for a new label set beyond it are
    /// dropped and counted in <c>sluice_metrics_dropped_measurements_total{metric}</c>.
    /// </summary>
    public const int MaxSeriesPerMetric = 10_000;

    /// <summary>The bucket upper bounds, in seconds, of both duration histograms.</summary>
    public static IReadOnlyList<double> DurationBucketBoundaries { get; } =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>The states of <c>sluice_client_connections</c>, each exported (at 0 if need be) for every configured pool.</summary>
    public static IReadOnlyList<string> ClientStates { get; } = ["active", "idle", "waiting"];

    /// <summary>The states of <c>sluice_server_connections</c>, each exported (at 0 if need be) for every configured pool and server.</summary>
    public static IReadOnlyList<string> ServerStates { get; } = ["active", "idle", "login"];

    /// <summary>The <c>sqlstate_class</c> of a code that is not two letters or digits.</summary>
    internal const string UnknownSqlStateClass = "unknown";

    private const string DatabaseLabel = "database";
    private const string UserLabel = "user";
    private const string RouteLabel = "route";
    private const string ServerLabel = "server";
    private const string RoleLabel = "role";
    private const string StateLabel = "state";

    // One slot per possible two-character class ([0-9A-Z]²), filled on first use, so that Error() does not allocate
    // a substring per call and a misbehaving server cannot grow it beyond 1296 strings.
    private static readonly string?[] s_sqlStateClasses = new string?[36 * 36];

    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly ILogger _logger;
    private readonly Lock _collectLock = new();
    private readonly BoundedSeries<(string Database, string Route), RouteSeries> _routes;
    private readonly BoundedSeries<(string Database, string SqlStateClass), Counter.Child> _errors;
    private readonly BoundedSeries<(string Database, string User), Counter.Child> _statementTimeouts;
    private readonly BoundedSeries<(string Database, string User), Counter.Child> _rateLimitedWaits;
    private readonly Counter.Child[] _rejectedConnections;
    private readonly Counter.Child _bytesClientToServer;
    private readonly Counter.Child _bytesServerToClient;
    private readonly Histogram _checkoutWait;
    private readonly Counter.Child _droppedTransactions;
    private readonly Counter.Child _droppedQueries;
    private readonly Counter.Child _droppedQueryDurations;
    private readonly Counter.Child _droppedErrors;
    private readonly Counter.Child _droppedStatementTimeouts;
    private readonly Counter.Child _droppedRateLimitedWaits;
    private readonly BoundedSeries<string, ReadSeries> _reads;
    private readonly Counter.Child _droppedReads;
    private readonly Counter _collectErrors;
    private readonly ObservedGauge _clientConnections;
    private readonly ObservedGauge _clientsPinned;
    private readonly ObservedGauge _serverConnections;
    private readonly ObservedGauge _poolWaitingClients;
    private readonly ObservedGauge _serverUp;
    private readonly ObservedGauge _replicaLagSeconds;
    private readonly ObservedGauge _replicaLagBytes;
    private readonly ObservedGauge _serverWalLsn;
    private readonly ObservedGauge _readFloorLsn;
    private readonly ProcessMetrics _process;
    private volatile IMetricsSource? _source;

    public SluiceMetrics(IMetricsSource? source = null, ILogger<SluiceMetrics>? logger = null)
    {
        _source = source;
        _logger = logger ?? (ILogger)NullLogger.Instance;

        var factory = Metrics.WithCustomRegistry(_registry);
        factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();
        var durationBuckets = new HistogramConfiguration { Buckets = [.. DurationBucketBoundaries] };

        var transactions = factory.CreateCounter(
            "sluice_transactions_total", "Transactions completed, by database and the route they took.", DatabaseLabel, RouteLabel);
        var queries = factory.CreateCounter(
            "sluice_queries_total", "Queries completed, by database and the route they took.", DatabaseLabel, RouteLabel);
        var queryDuration = factory.CreateHistogram(
            "sluice_query_duration_seconds", "Time from a query reaching the proxy to its result leaving it, in seconds.", [DatabaseLabel, RouteLabel], durationBuckets);
        var errors = factory.CreateCounter(
            "sluice_errors_total", "Error responses sent to clients, by database and SQLSTATE class (first two characters).", DatabaseLabel, "sqlstate_class");
        var statementTimeouts = factory.CreateCounter(
            "sluice_statement_timeouts_total", "Statements cancelled by the proxy's statement_timeout.", DatabaseLabel, UserLabel);
        var rateLimitedWaits = factory.CreateCounter(
            "sluice_rate_limited_waits_total", "Connections and transactions that waited for a rate limit (a user's connection_rate, transaction_rate).", DatabaseLabel, UserLabel);
        var rejectedConnections = factory.CreateCounter(
            "sluice_rejected_connections_total", "Client connections refused, by reason.", "reason");
        var bytes = factory.CreateCounter(
            "sluice_bytes_total", "Bytes forwarded between clients and servers, by direction.", "direction");
        _checkoutWait = factory.CreateHistogram(
            "sluice_checkout_wait_seconds", "Time clients waited for a server connection from a pool, in seconds.", durationBuckets);
        var reads = factory.CreateCounter(
            "sluice_reads_total", "Transactions routed as reads, by database and where they ran (replica or primary).", DatabaseLabel, RouteLabel);
        var readFloorWaits = factory.CreateCounter(
            "sluice_read_floor_waits_total", "Reads that waited for a replica to replay the writes they must see (routing.read_consistency).", DatabaseLabel);
        var readFloorFallbacks = factory.CreateCounter(
            "sluice_read_floor_fallbacks_total", "Reads run on the primary because no replica replayed the writes they must see within routing.max_read_wait.", DatabaseLabel);

        _routes = new(key => new RouteSeries(
            transactions.WithLabels(key.Database, key.Route),
            queries.WithLabels(key.Database, key.Route),
            queryDuration.WithLabels(key.Database, key.Route)), MaxSeriesPerMetric);
        _errors = new(key => errors.WithLabels(key.Database, key.SqlStateClass), MaxSeriesPerMetric);
        _statementTimeouts = new(key => statementTimeouts.WithLabels(key.Database, key.User), MaxSeriesPerMetric);
        _rateLimitedWaits = new(key => rateLimitedWaits.WithLabels(key.Database, key.User), MaxSeriesPerMetric);
        _reads = new(database => new ReadSeries(
            reads.WithLabels(database, "replica"),
            reads.WithLabels(database, "primary"),
            readFloorWaits.WithLabels(database),
            readFloorFallbacks.WithLabels(database)), MaxSeriesPerMetric);

        // Closed label sets exist from the start at 0, so that rate() and alerts work before the first event.
        _rejectedConnections = [.. Enum.GetValues<RejectionReason>().Select(reason => rejectedConnections.WithLabels(ReasonLabel(reason)))];
        _bytesClientToServer = bytes.WithLabels("client_to_server");
        _bytesServerToClient = bytes.WithLabels("server_to_client");

        var dropped = factory.CreateCounter(
            "sluice_metrics_dropped_measurements_total", "Measurements dropped because their metric reached its cap on label sets.", "metric");
        _droppedTransactions = dropped.WithLabels(transactions.Name);
        _droppedQueries = dropped.WithLabels(queries.Name);
        _droppedQueryDurations = dropped.WithLabels(queryDuration.Name);
        _droppedErrors = dropped.WithLabels(errors.Name);
        _droppedStatementTimeouts = dropped.WithLabels(statementTimeouts.Name);
        _droppedRateLimitedWaits = dropped.WithLabels(rateLimitedWaits.Name);
        _droppedReads = dropped.WithLabels(reads.Name);
        _collectErrors = factory.CreateCounter(
            "sluice_metrics_collect_errors_total", "Scrapes in which observing a gauge threw (see the log).");

        _clientConnections = new(factory.CreateGauge(
            "sluice_client_connections", "Client connections, by database, user and state.", DatabaseLabel, UserLabel, StateLabel));
        _clientsPinned = new(factory.CreateGauge(
            "sluice_clients_pinned", "Clients tied to their server by session state (LISTEN, advisory lock, ...).", DatabaseLabel, UserLabel));
        _serverConnections = new(factory.CreateGauge(
            "sluice_server_connections", "Server connections, by pool, server role and state.", DatabaseLabel, UserLabel, ServerLabel, RoleLabel, StateLabel));
        _poolWaitingClients = new(factory.CreateGauge(
            "sluice_pool_waiting_clients", "Clients waiting for a server connection.", DatabaseLabel, UserLabel));
        _serverUp = new(factory.CreateGauge(
            "sluice_server_up", "1 when the server is reachable and healthy, 0 when it is down or banned.", DatabaseLabel, ServerLabel, RoleLabel));
        _replicaLagSeconds = new(factory.CreateGauge(
            "sluice_replica_lag_seconds", "Replication replay lag of a replica, in seconds.", DatabaseLabel, ServerLabel));
        _replicaLagBytes = new(factory.CreateGauge(
            "sluice_replica_lag_bytes", "Replication replay lag of a replica, in WAL bytes.", DatabaseLabel, ServerLabel));
        _serverWalLsn = new(factory.CreateGauge(
            "sluice_server_wal_lsn", "A primary's insert position or a replica's replay position, as a WAL byte offset.", DatabaseLabel, ServerLabel, RoleLabel));
        _readFloorLsn = new(factory.CreateGauge(
            "sluice_read_floor_lsn", "The WAL position a replica must have replayed to take reads held to every write so far, as a WAL byte offset.", DatabaseLabel));
        _process = new ProcessMetrics(factory);
        CreateFailoverMetrics(factory);

        _registry.AddBeforeCollectCallback(Collect);
    }

    /// <summary>Where the gauges read the proxy's state from; null (the default) exports no gauge series.</summary>
    public IMetricsSource? Source
    {
        get => _source;
        set => _source = value;
    }

    /// <summary>A transaction (or, outside transaction pooling, a statement outside a transaction block) finished.</summary>
    /// <param name="database">The database name clients connect to.</param>
    /// <param name="route"><c>primary</c> or <c>replica</c>.</param>
    public void TransactionCompleted(string database, string route)
    {
        if (!Recording)
        {
            return;
        }

        if (_routes.Get((database, route)) is { } series)
        {
            series.Transactions.Inc();
        }
        else
        {
            _droppedTransactions.Inc();
        }
    }

    /// <summary>A query finished after <paramref name="seconds"/>; counts it and records its duration.</summary>
    /// <param name="database">The database name clients connect to.</param>
    /// <param name="route"><c>primary</c> or <c>replica</c>.</param>
    /// <param name="seconds">The query's duration.</param>
    public void QueryCompleted(string database, string route, double seconds)
    {
        if (!Recording)
        {
            return;
        }

        if (_routes.Get((database, route)) is { } series)
        {
            series.Queries.Inc();
            Observe(series.Duration, seconds);
        }
        else
        {
            _droppedQueries.Inc();
            _droppedQueryDurations.Inc();
        }
    }

    /// <summary>An ErrorResponse went to a client; <paramref name="sqlState"/> is its full five-character code.</summary>
    public void Error(string database, string sqlState) => Error(database, sqlState.AsSpan());

    /// <inheritdoc cref="Error(string, string)"/>
    public void Error(string database, ReadOnlySpan<char> sqlState)
    {
        if (!Recording)
        {
            return;
        }

        (_errors.Get((database, SqlStateClass(sqlState))) ?? _droppedErrors).Inc();
    }

    /// <summary>The proxy cancelled a statement of <paramref name="user"/> for exceeding its statement_timeout.</summary>
    public void StatementTimeout(string database, string user)
    {
        if (!Recording)
        {
            return;
        }

        (_statementTimeouts.Get((database, user)) ?? _droppedStatementTimeouts).Inc();
    }

    /// <summary>A connection or transaction of <paramref name="user"/> waited for a rate limit's token.</summary>
    public void RateLimitedWait(string database, string user)
    {
        if (!Recording)
        {
            return;
        }

        (_rateLimitedWaits.Get((database, user)) ?? _droppedRateLimitedWaits).Inc();
    }

    /// <summary>A client connection was refused.</summary>
    public void ConnectionRejected(RejectionReason reason)
    {
        if (!Recording)
        {
            return;
        }

        _rejectedConnections[(int)reason].Inc();
    }

    /// <summary><paramref name="bytes"/> were forwarded; call it per read or per flush, not per message.</summary>
    public void BytesTransferred(TrafficDirection direction, long bytes)
    {
        if (!Recording || bytes <= 0)
        {
            return;
        }

        (direction == TrafficDirection.ClientToServer ? _bytesClientToServer : _bytesServerToClient).Inc(bytes);
    }

    /// <summary>A transaction routed as a read runs on a replica (<paramref name="onReplica"/>) or on the primary.</summary>
    public void ReadRouted(string database, bool onReplica)
    {
        if (!Recording)
        {
            return;
        }

        if (_reads.Get(database) is { } series)
        {
            (onReplica ? series.OnReplica : series.OnPrimary).Inc();
        }
        else
        {
            _droppedReads.Inc();
        }
    }

    /// <summary>A read waited for fresher replica positions because no replica was known to have replayed its floor.</summary>
    public void ReadFloorWait(string database)
    {
        if (Recording && _reads.Get(database) is { } series)
        {
            series.FloorWaits.Inc();
        }
    }

    /// <summary>A read went to the primary because no replica replayed its floor within max_read_wait.</summary>
    public void ReadFloorFallback(string database)
    {
        if (Recording && _reads.Get(database) is { } series)
        {
            series.FloorFallbacks.Inc();
        }
    }

    /// <summary>A client waited <paramref name="seconds"/> for a server connection (record 0 for an immediate checkout).</summary>
    public void CheckoutWait(double seconds)
    {
        if (!Recording)
        {
            return;
        }

        Observe(_checkoutWait, seconds);
    }

    /// <summary>Brings the gauges up to date and writes every metric to <paramref name="output"/>.</summary>
    public Task WriteToAsync(Stream output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        return _registry.CollectAndExportAsTextAsync(output, cancellationToken);
    }

    /// <summary>The scrape as a string (tests, tools).</summary>
    public async Task<string> ScrapeAsync(CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        await WriteToAsync(buffer, cancellationToken);
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
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
        RejectionReason.DatabaseCap => "database_cap",
        RejectionReason.ConnectionRate => "connection_rate",
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

    // A NaN is no duration: it would poison the histogram's sum for good.
    private static void Observe(IHistogram histogram, double seconds)
    {
        if (!double.IsNaN(seconds))
        {
            histogram.Observe(seconds);
        }
    }

    /// <summary>Before each scrape: reads every gauge from the source. A gauge whose source throws loses its series for this scrape only.</summary>
    private void Collect()
    {
        lock (_collectLock)
        {
            _process.Update();
            var source = _source;
            var failed = false;
            failed |= !TryObserve(_clientConnections, source, static s => s.GetClientConnections().Select(g => (Labels(g.Database, g.User, g.State), (double)g.Count)));
            failed |= !TryObserve(_clientsPinned, source, static s => s.GetPinnedClients().Select(g => (Labels(g.Database, g.User), (double)g.Count)));
            failed |= !TryObserve(_serverConnections, source, static s => s.GetServerConnections().Select(g => (Labels(g.Database, g.User, g.Server, g.Role, g.State), (double)g.Count)));
            failed |= !TryObserve(_poolWaitingClients, source, static s => s.GetPoolWaitingClients().Select(g => (Labels(g.Database, g.User), (double)g.Count)));

            ServerStatusGauge[] servers = [];
            try
            {
                servers = source is null ? [] : [.. source.GetServers()];
            }
            catch (Exception e)
            {
                failed = true;
                Log.CollectFailed(_logger, "sluice_server_up", e);
            }

            _serverUp.Observe(servers.Select(s => (Labels(s.Database, s.Server, s.Role), s.Up ? 1.0 : 0.0)));
            _replicaLagSeconds.Observe(servers.Where(s => s.LagSeconds is not null).Select(s => (Labels(s.Database, s.Server), s.LagSeconds!.Value)));
            _replicaLagBytes.Observe(servers.Where(s => s.LagBytes is not null).Select(s => (Labels(s.Database, s.Server), (double)s.LagBytes!.Value)));
            _serverWalLsn.Observe(servers.Where(s => s.WalLsn is not null).Select(s => (Labels(s.Database, s.Server, s.Role), (double)s.WalLsn!.Value)));
            failed |= !TryObserve(_readFloorLsn, source, static s => s.GetReadFloors().Select(g => (Labels(g.Database), (double)g.Lsn)));

            // The read counters of every database with a server exist from the first scrape, at 0.
            foreach (var database in servers.Select(s => s.Database).Distinct(StringComparer.Ordinal))
            {
                _reads.Get(database);
            }

            if (failed)
            {
                _collectErrors.Inc();
            }
        }
    }

    private bool TryObserve(ObservedGauge gauge, IMetricsSource? source, Func<IMetricsSource, IEnumerable<(string[], double)>> read)
    {
        try
        {
            gauge.Observe(source is null ? [] : read(source));
            return true;
        }
        catch (Exception e)
        {
            // /metrics must answer even when one gauge is broken: the scrape goes on with the others.
            Log.CollectFailed(_logger, gauge.Name, e);
            return false;
        }
    }

    private static string[] Labels(params string[] values) => values;

#if SLUICE_METRICS_OFF
    // bench/metrics-cost.sh builds the proxy with every recording call a no-op, to measure what metrics cost.
    private static bool Recording => false;
#else
    private static bool Recording => true;
#endif

    /// <summary>The series one (database, route) records into per transaction and per query.</summary>
    private sealed record RouteSeries(Counter.Child Transactions, Counter.Child Queries, Histogram.Child Duration);

    /// <summary>The series of one database's reads: where they ran, and how their floor (routing.read_consistency) shaped that.</summary>
    private sealed record ReadSeries(Counter.Child OnReplica, Counter.Child OnPrimary, Counter.Child FloorWaits, Counter.Child FloorFallbacks);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Observing {Metric} for a scrape failed; the scrape lacks its samples")]
        public static partial void CollectFailed(ILogger logger, string metric, Exception exception);
    }
}
