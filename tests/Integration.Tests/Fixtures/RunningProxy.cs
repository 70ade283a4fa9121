using System.Net;
using Npgsql;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Hosting;

namespace Sluice.Integration.Tests.Fixtures;

/// <summary>Sluice running in-process for one test, on ports the OS chose; disposing drains and stops it.</summary>
public sealed class RunningProxy : IAsyncDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    internal RunningProxy(ProxyServer server, ProxyConfig config)
    {
        Server = server;
        Config = config;
    }

    public ProxyServer Server { get; }

    /// <summary>The config it runs with (listeners on port 0 as given; the bound ports are below).</summary>
    public ProxyConfig Config { get; }

    /// <summary>The PostgreSQL wire protocol port it listens on (127.0.0.1).</summary>
    public int Port => Server.ListenEndPoints[0].Port;

    /// <summary>The HTTP endpoints' port, or null when HTTP is disabled.</summary>
    public int? HttpPort => Server.HttpEndPoint?.Port;

    /// <summary>http://127.0.0.1:PORT/ for /metrics, /health, /ready, /primary, /replica.</summary>
    public Uri HttpBaseAddress => new($"http://{new IPEndPoint(IPAddress.Loopback, HttpPort ?? throw new InvalidOperationException("HTTP is disabled in this config."))}/");

    /// <summary>An Npgsql connection string to Sluice as one of the test roles; Npgsql's own pooling off unless asked.</summary>
    public string ConnectionString(TestRole role, string database = PostgresFixture.Database, bool pooling = false)
    {
        ArgumentNullException.ThrowIfNull(role);
        return ConnectionString(role.Name, role.Password, database, pooling);
    }

    /// <summary>An Npgsql connection string to Sluice; Npgsql's own pooling off unless asked.</summary>
    public string ConnectionString(string user, string? password, string database = PostgresFixture.Database, bool pooling = false) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Database = database,
            Username = user,
            Password = password,
            Pooling = pooling,
            Timeout = 15,
        }.ConnectionString;

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(StopTimeout);
        try
        {
            await Server.StopAsync(timeout.Token);
        }
        finally
        {
            await Server.DisposeAsync();
        }
    }
}
