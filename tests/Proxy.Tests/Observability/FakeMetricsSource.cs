using Sluice.Proxy.Observability;

namespace Sluice.Proxy.Tests.Observability;

internal sealed class FakeMetricsSource : IMetricsSource
{
    public List<ClientConnectionsGauge> ClientConnections { get; } = [];

    public List<ServerConnectionsGauge> ServerConnections { get; } = [];

    public List<PoolWaitingClientsGauge> PoolWaitingClients { get; } = [];

    public List<ServerStatusGauge> Servers { get; } = [];

    public List<ReadFloorGauge> ReadFloors { get; } = [];

    public bool ThrowFromServers { get; set; }

    public IEnumerable<ClientConnectionsGauge> GetClientConnections() => [.. ClientConnections];

    public IEnumerable<ServerConnectionsGauge> GetServerConnections() => [.. ServerConnections];

    public IEnumerable<PoolWaitingClientsGauge> GetPoolWaitingClients() => [.. PoolWaitingClients];

    public IEnumerable<ServerStatusGauge> GetServers() =>
        ThrowFromServers ? throw new InvalidOperationException("topology unavailable") : [.. Servers];

    public IEnumerable<ReadFloorGauge> GetReadFloors() => [.. ReadFloors];

    /// <summary>One pool with a primary and a replica, as a small running proxy would report it.</summary>
    public static FakeMetricsSource Typical()
    {
        var source = new FakeMetricsSource();
        source.ClientConnections.Add(new("shop", "app", "active", 3));
        source.ClientConnections.Add(new("shop", "app", "idle", 7));
        source.ServerConnections.Add(new("shop", "app", "127.0.0.1:5432", "primary", "active", 2));
        source.ServerConnections.Add(new("shop", "app", "127.0.0.1:5432", "primary", "idle", 5));
        source.ServerConnections.Add(new("shop", "app", "127.0.0.1:5433", "replica", "idle", 4));
        source.PoolWaitingClients.Add(new("shop", "app", 1));
        source.ReadFloors.Add(new("shop", 0x3000040));
        source.Servers.Add(new("shop", "127.0.0.1:5432", "primary", Up: true, WalLsn: 0x3000060));
        source.Servers.Add(new("shop", "127.0.0.1:5433", "replica", Up: true, LagSeconds: 0.25, LagBytes: 8192, WalLsn: 0x3000000));
        source.Servers.Add(new("shop", "127.0.0.1:5434", "replica", Up: false));
        return source;
    }
}
