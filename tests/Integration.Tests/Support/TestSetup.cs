using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.Support;

/// <summary>Configs and roles the data-path tests share.</summary>
public static class TestSetup
{
    /// <summary>
    /// The fixture's config with everything on the primary and no HTTP listener: these tests are about what a client
    /// sees through the data path, and a read right after a write must not depend on replica lag.
    /// </summary>
    public static ProxyConfig Config(PostgresFixture fixture, PoolMode mode, int poolSize = 5, params UserConfig[] extraUsers)
    {
        ArgumentNullException.ThrowIfNull(fixture);
        var config = fixture.CreateProxyConfig(mode, poolSize);
        return config with
        {
            Server = config.Server with { HttpListen = "" },
            Routing = config.Routing with { ReadWriteSplit = false },
            Users = config.Users.AddRange(extraUsers),
        };
    }

    /// <summary>Sluice in front of the cluster with <see cref="Config"/>.</summary>
    public static Task<RunningProxy> StartProxyAsync(PostgresFixture fixture, PoolMode mode, int poolSize = 5, params UserConfig[] extraUsers) =>
        fixture.StartProxyAsync(Config(fixture, mode, poolSize, extraUsers));

    /// <summary>
    /// A login role of its own for one test (SCRAM, read/write on all data), so that counting its server connections in
    /// pg_stat_activity sees nothing another test left behind. The cluster is thrown away after the run.
    /// </summary>
    public static async Task<TestRole> CreateRoleAsync(PostgresFixture fixture, string prefix)
    {
        var role = new TestRole(Db.UniqueName(prefix), "pw_" + Guid.NewGuid().ToString("N")[..12], AuthMethod.ScramSha256);
        await Db.PrimaryExecuteAsync(fixture, $"CREATE ROLE {role.Name} LOGIN PASSWORD '{role.Password}'; GRANT pg_read_all_data, pg_write_all_data TO {role.Name}");
        return role;
    }

    /// <summary>The [[users]] entry for a role: client auth and server auth both with its plain password.</summary>
    public static UserConfig UserFor(TestRole role)
    {
        ArgumentNullException.ThrowIfNull(role);
        return new UserConfig { Name = role.Name, Password = role.Password, Auth = role.ServerAuth };
    }

    /// <summary>How many server connections the role has open on the primary right now (client backends only).</summary>
    public static Task<long> ServerConnectionsAsync(PostgresFixture fixture, string roleName) =>
        Db.PrimaryScalarAsync<long>(fixture, $"SELECT count(*) FROM pg_stat_activity WHERE usename = '{roleName}' AND backend_type = 'client backend'");
}
