namespace Sluice.Routing.Topology;

/// <summary>
/// One configured server of one database, kept across topology snapshots and reloads while the server stays in the
/// config. It carries the only mutable state of the topology: the count of transactions Sluice runs on the server
/// right now, which least_outstanding balances on.
/// </summary>
public sealed class BackendNode
{
    private int _outstanding;

    public BackendNode(string database, string host, int port)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(host);
        Database = database;
        Host = host;
        Port = port;
        Name = NameOf(host, port);
    }

    public string Database { get; }

    public string Host { get; }

    public int Port { get; }

    /// <summary>"host:port", as in the config's BackendServerConfig.Name, metrics and logs.</summary>
    public string Name { get; }

    /// <summary>Transactions started on this server and not yet finished.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    public static string NameOf(string host, int port) => $"{host}:{port}";

    /// <summary>Counts a transaction starting here; pair every call with one <see cref="Release"/>.</summary>
    public void Acquire() => Interlocked.Increment(ref _outstanding);

    /// <summary>Counts a transaction started with <see cref="Acquire"/> as finished.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _outstanding) < 0)
        {
            // An unpaired Release is a bug in the caller; never let it make the server look idler than idle.
            Interlocked.Increment(ref _outstanding);
        }
    }

    public override string ToString() => $"{Database}/{Name}";
}
