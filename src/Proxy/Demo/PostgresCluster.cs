using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sluice.Proxy.Demo;

/// <summary>
/// A throwaway PostgreSQL primary and streaming replica under a temporary folder, on free loopback ports:
/// used by `sluice demo` and by the integration test fixture, so both start PostgreSQL the same way. What only the
/// tests need (Npgsql connection strings, promoting the replica, pg_stat_statements) is in tests/Support, not here.
/// </summary>
/// <remarks>
/// Tuned for speed, not durability (fsync and full_page_writes are off). synchronous_commit stays on, PostgreSQL's
/// default: with it off, a commit reaches the replica only when the WAL writer flushes (up to wal_writer_delay later),
/// and causal reads right after it would all go to the primary. Local (socket)
/// connections are trusted; TCP connections on 127.0.0.1 need a password (SCRAM-SHA-256) unless
/// <see cref="PostgresClusterOptions.ExtraHbaLines"/> say otherwise. Servers are stopped by pg_ctl, or killed by pid
/// when that fails or the process exits without disposing.
/// </remarks>
public sealed class PostgresCluster : IAsyncDisposable
{
    private const string PortFileName = "sluice_port.conf";
    private const int StartAttempts = 3;
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private bool portConflict;
    private int disposed;

    public required string DataRoot { get; init; }

    public required int PrimaryPort { get; init; }

    /// <summary>0 when the cluster was started without a replica.</summary>
    public required int ReplicaPort { get; init; }

    /// <summary>A superuser on both servers, with <see cref="SuperuserPassword"/>.</summary>
    public string Superuser { get; init; } = "postgres";

    public string SuperuserPassword { get; init; } = "postgres";

    /// <summary>The PostgreSQL programs in use and the OS user the servers run as.</summary>
    public required PostgresInstallation Installation { get; init; }

    public bool HasReplica => ReplicaPort != 0;

    public string PrimaryDataDirectory => DataDirectory(ClusterNode.Primary);

    public string ReplicaDataDirectory => DataDirectory(ClusterNode.Replica);

    public string DataDirectory(ClusterNode node) => Path.Combine(DataRoot, node == ClusterNode.Primary ? "primary" : "replica");

    /// <summary>The server's log (pg_ctl -l), outside the data folder.</summary>
    public string LogFile(ClusterNode node) => Path.Combine(DataRoot, node == ClusterNode.Primary ? "primary.log" : "replica.log");

    public int Port(ClusterNode node) => node == ClusterNode.Primary ? PrimaryPort : ReplicaPort;

    /// <summary>
    /// initdb (as an unprivileged OS user when running as root), start the primary, pg_basebackup a streaming replica,
    /// start it, wait until both accept connections and the replica is streaming.
    /// </summary>
    public static async Task<PostgresCluster> StartAsync(PostgresClusterOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var installation = PostgresInstallation.Find();
        for (var attempt = 1; ; attempt++)
        {
            var ports = FreePorts(options.WithReplica ? 2 : 1);
            var cluster = new PostgresCluster
            {
                DataRoot = Directory.CreateTempSubdirectory("sluice-pg-").FullName,
                Installation = installation,
                PrimaryPort = ports[0],
                ReplicaPort = options.WithReplica ? ports[1] : 0,
            };
            AppDomain.CurrentDomain.ProcessExit += cluster.OnProcessExit;
            try
            {
                await cluster.InitializeAsync(options, cancellationToken);
                return cluster;
            }
            catch (InvalidOperationException) when (cluster.portConflict && attempt < StartAttempts)
            {
                // Another process took a port between our probe and the server's bind: start over on new ports.
                await cluster.DisposeAsync();
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Runs SQL as the superuser on the primary (through psql).</summary>
    public Task<string> ExecuteOnPrimaryAsync(string sql, CancellationToken cancellationToken = default) =>
        ExecuteAsync(PrimaryPort, sql, "postgres", cancellationToken);

    /// <summary>
    /// Runs SQL as the superuser through psql (-X -A -t, ON_ERROR_STOP) and returns what it printed, trimmed: one line
    /// per row, columns separated by '|'. Statements run one by one, so CREATE DATABASE may follow other statements.
    /// Throws <see cref="InvalidOperationException"/> with psql's error text when a statement fails.
    /// </summary>
    public async Task<string> ExecuteAsync(int port, string sql, string database = "postgres", CancellationToken cancellationToken = default)
    {
        var result = await ExternalProcess.RunAsync(
            Installation.ToolPath("psql"),
            ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-U", Superuser, "-d", database, "-f", "-"],
            CommandTimeout,
            new Dictionary<string, string?> { ["PGPASSWORD"] = SuperuserPassword, ["PGCONNECT_TIMEOUT"] = "10" },
            standardInput: sql,
            cancellationToken: cancellationToken);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"psql on port {port} failed (exit {result.ExitCode}): {result.StandardError.Trim()}");
        }

        return result.StandardOutput.Trim();
    }

    /// <summary>pg_ctl start (waits until it accepts connections; a standby counts once it takes read-only connections).</summary>
    public async Task StartServerAsync(ClusterNode node, CancellationToken cancellationToken = default)
    {
        var directory = DataDirectory(node);
        var result = await Installation.RunAsServerUserAsync(
            "pg_ctl", ["-D", directory, "-l", LogFile(node), "-w", "-t", "60", "start"], CommandTimeout, DataRoot, cancellationToken: cancellationToken);
        if (!result.Succeeded)
        {
            var logTail = Tail(LogFile(node));
            portConflict = logTail.Contains("Address already in use", StringComparison.Ordinal);
            throw new InvalidOperationException($"The {node} server (port {Port(node)}) did not start: {result.StandardError.Trim()}{Environment.NewLine}{logTail}");
        }
    }

    /// <summary>pg_ctl stop: "fast" (default: roll back and disconnect clients) or immediate (like a crash).</summary>
    public async Task StopServerAsync(ClusterNode node, bool immediate = false, CancellationToken cancellationToken = default)
    {
        var result = await Installation.RunAsServerUserAsync(
            "pg_ctl", ["-D", DataDirectory(node), "-m", immediate ? "immediate" : "fast", "-w", "-t", "60", "stop"], CommandTimeout, DataRoot, cancellationToken: cancellationToken);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"The {node} server did not stop: {result.StandardError.Trim()}");
        }
    }

    /// <summary>Waits until the primary reports at least one standby in state 'streaming'.</summary>
    public async Task WaitForStreamingAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var streaming = await ExecuteOnPrimaryAsync("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", cancellationToken);
            if (streaming != "0")
            {
                return;
            }

            if (stopwatch.Elapsed > timeout)
            {
                throw new TimeoutException($"The replica did not start streaming within {timeout.TotalSeconds:0} s.{Environment.NewLine}{Tail(LogFile(ClusterNode.Replica))}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>
    /// Waits until the replica has replayed everything the primary had committed when this was called: up to the
    /// insert position, since with synchronous_commit = off a commit can still be unwritten.
    /// </summary>
    public async Task WaitForReplicaCatchUpAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var target = await ExecuteOnPrimaryAsync("SELECT pg_current_wal_insert_lsn()", cancellationToken);
        var stopwatch = Stopwatch.StartNew();
        while (await ExecuteAsync(ReplicaPort, $"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn", cancellationToken: cancellationToken) != "t")
        {
            if (stopwatch.Elapsed > timeout)
            {
                throw new TimeoutException($"The replica did not replay up to {target} within {timeout.TotalSeconds:0} s.");
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>Stops both servers (fast shutdown) and removes the folder.</summary>
    /// <remarks>Immediate shutdown, in fact: the data is thrown away anyway, and it takes milliseconds.</remarks>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        foreach (var node in (ClusterNode[])[ClusterNode.Primary, ClusterNode.Replica])
        {
            if (!File.Exists(Path.Combine(DataDirectory(node), "postmaster.pid")))
            {
                continue;
            }

            try
            {
                await StopServerAsync(node, immediate: true);
            }
            catch (Exception exception) when (exception is InvalidOperationException or TimeoutException)
            {
                // pg_ctl could not stop it: killed by pid below.
            }

            KillByPidFile(node);
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (Directory.Exists(DataRoot))
                {
                    Directory.Delete(DataRoot, recursive: true);
                }

                return;
            }
            catch (IOException) when (attempt < 5)
            {
                // A server that just died may still be removing its socket or pid file.
                await Task.Delay(200);
            }
        }
    }

    private async Task InitializeAsync(PostgresClusterOptions options, CancellationToken cancellationToken)
    {
        var passwordFile = Path.Combine(DataRoot, "pwfile");
        await File.WriteAllTextAsync(passwordFile, SuperuserPassword + "\n", cancellationToken);
        await Installation.GiveToServerUserAsync(DataRoot, cancellationToken);

        var primary = PrimaryDataDirectory;
        var initdb = await Installation.RunAsServerUserAsync(
            "initdb",
            ["-D", primary, "-U", Superuser, "--pwfile=" + passwordFile, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
            CommandTimeout,
            DataRoot,
            cancellationToken: cancellationToken);
        File.Delete(passwordFile);
        if (!initdb.Succeeded)
        {
            throw new InvalidOperationException($"initdb failed (exit {initdb.ExitCode}): {initdb.StandardError.Trim()}");
        }

        await File.AppendAllTextAsync(Path.Combine(primary, "postgresql.conf"), ServerSettings(options), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(primary, "pg_hba.conf"), HostBasedAuthentication(options), cancellationToken);
        await WritePortFileAsync(ClusterNode.Primary, cancellationToken);
        await Installation.GiveToServerUserAsync(primary, cancellationToken);
        await StartServerAsync(ClusterNode.Primary, cancellationToken);

        if (!HasReplica)
        {
            return;
        }

        // -R writes standby.signal and primary_conninfo (with the password from PGPASSWORD); the copied
        // postgresql.conf includes sluice_port.conf, which gets the replica's own port below.
        var basebackup = await Installation.RunAsServerUserAsync(
            "pg_basebackup",
            ["-D", ReplicaDataDirectory, "-h", "127.0.0.1", "-p", PrimaryPort.ToString(CultureInfo.InvariantCulture), "-U", Superuser, "-X", "stream", "-R", "-c", "fast", "--no-sync", "--no-manifest"],
            CommandTimeout,
            DataRoot,
            new Dictionary<string, string?> { ["PGPASSWORD"] = SuperuserPassword },
            cancellationToken);
        if (!basebackup.Succeeded)
        {
            throw new InvalidOperationException($"pg_basebackup failed (exit {basebackup.ExitCode}): {basebackup.StandardError.Trim()}");
        }

        await WritePortFileAsync(ClusterNode.Replica, cancellationToken);
        await Installation.GiveToServerUserAsync(ReplicaDataDirectory, cancellationToken);
        await StartServerAsync(ClusterNode.Replica, cancellationToken);
        await WaitForStreamingAsync(StartupTimeout, cancellationToken);
    }

    private string ServerSettings(PostgresClusterOptions options)
    {
        var settings = new StringBuilder()
            .AppendLine()
            .AppendLine("# Added by Sluice's PostgresCluster: a throwaway cluster, tuned for speed over durability.")
            .AppendLine("listen_addresses = '127.0.0.1'")
            .AppendLine(CultureInfo.InvariantCulture, $"unix_socket_directories = '{DataRoot.Replace("'", "''", StringComparison.Ordinal)}'")
            .AppendLine(CultureInfo.InvariantCulture, $"include = '{PortFileName}'")
            .AppendLine("max_connections = 300")
            .AppendLine("shared_buffers = '32MB'")
            .AppendLine("wal_level = replica")
            .AppendLine("max_wal_senders = 10")
            .AppendLine("max_replication_slots = 10")
            .AppendLine("wal_keep_size = '128MB'")
            .AppendLine("hot_standby = on")
            .AppendLine("wal_receiver_status_interval = '1s'")
            .AppendLine("fsync = off")
            .AppendLine("full_page_writes = off")
            .AppendLine("log_line_prefix = '%m [%p] %q%u@%d '");
        foreach (var line in options.ExtraSettings)
        {
            settings.AppendLine(line);
        }

        return settings.ToString();
    }

    private string HostBasedAuthentication(PostgresClusterOptions options)
    {
        var hba = new StringBuilder()
            .AppendLine("# Written by Sluice's PostgresCluster. First match wins.")
            .AppendLine("local   all          all                   trust")
            .AppendLine("local   replication  all                   trust");
        foreach (var line in options.ExtraHbaLines)
        {
            hba.AppendLine(line);
        }

        return hba
            .AppendLine("host    all          all   127.0.0.1/32    scram-sha-256")
            .AppendLine("host    replication  all   127.0.0.1/32    scram-sha-256")
            .ToString();
    }

    private Task WritePortFileAsync(ClusterNode node, CancellationToken cancellationToken) =>
        File.WriteAllTextAsync(
            Path.Combine(DataDirectory(node), PortFileName),
            string.Create(CultureInfo.InvariantCulture, $"port = {Port(node)}\n"),
            cancellationToken);

    // The last resort when disposing did not happen (the process is exiting) or pg_ctl could not stop a server.
    private void KillByPidFile(ClusterNode node)
    {
        try
        {
            var pidFile = Path.Combine(DataDirectory(node), "postmaster.pid");
            if (!File.Exists(pidFile)
                || !int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                return;
            }

            using var postmaster = Process.GetProcessById(pid);
            if (postmaster.ProcessName is "postgres" or "postmaster")
            {
                postmaster.Kill(entireProcessTree: true);
            }
        }
        catch (Exception exception) when (exception is ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            // Already gone, or not ours to kill.
        }
    }

    private void OnProcessExit(object? sender, EventArgs e)
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        KillByPidFile(ClusterNode.Primary);
        KillByPidFile(ClusterNode.Replica);
        try
        {
            Directory.Delete(DataRoot, recursive: true);
        }
        catch (IOException)
        {
            // Best effort while the process exits.
        }
    }

    // Probe with listeners held open together so the ports differ; the server binds them a moment later
    // (a port taken in between is retried by StartAsync).
    private static int[] FreePorts(int count)
    {
        var listeners = new TcpListener[count];
        try
        {
            for (var i = 0; i < count; i++)
            {
                listeners[i] = new TcpListener(IPAddress.Loopback, 0);
                listeners[i].Start();
            }

            return [.. listeners.Select(listener => ((IPEndPoint)listener.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener?.Stop();
            }
        }
    }

    private static string Tail(string path, int lines = 20)
    {
        try
        {
            return File.Exists(path) ? string.Join(Environment.NewLine, File.ReadLines(path).TakeLast(lines)) : "";
        }
        catch (IOException)
        {
            return "";
        }
    }
}

public sealed record PostgresClusterOptions
{
    /// <summary>Extra postgresql.conf lines for both servers.</summary>
    public IReadOnlyList<string> ExtraSettings { get; init; } = [];

    /// <summary>When false, only the primary is started.</summary>
    public bool WithReplica { get; init; } = true;

    /// <summary>
    /// pg_hba.conf lines placed before the catch-all "host all all 127.0.0.1/32 scram-sha-256", e.g.
    /// "host all md5_user 127.0.0.1/32 md5". Both servers get them (the replica is a copy of the primary).
    /// </summary>
    public IReadOnlyList<string> ExtraHbaLines { get; init; } = [];
}
