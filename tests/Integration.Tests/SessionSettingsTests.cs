using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Support;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests;

/// <summary>Settings a client gave at startup behave as they do on PostgreSQL itself: RESET and DISCARD ALL go back to them.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SessionSettingsTests(PostgresFixture fixture)
{
    [Theory]
    [InlineData(PoolMode.Session)]
    [InlineData(PoolMode.Transaction)]
    public async Task Reset_and_discard_all_return_to_the_clients_startup_values(PoolMode mode)
    {
        await using var proxy = await TestSetup.StartProxyAsync(fixture, mode, poolSize: 1);

        var direct = await ResetRoundTripAsync(fixture.PrimaryConnectionString(role: TestRoles.Scram));
        var viaProxy = await ResetRoundTripAsync(proxy.ConnectionString(TestRoles.Scram));

        // On PostgreSQL itself a RESET goes back to what the startup packet said, not to the server's default.
        Assert.Equal(("startup_name", "startup_name", "startup_name"), direct);
        Assert.Equal(direct, viaProxy);
    }

    private static async Task<(string AfterReset, string AfterResetAll, string AfterDiscardAll)> ResetRoundTripAsync(string connectionString)
    {
        await using var connection = await Db.OpenAsync(Db.WithApplicationName(connectionString, "startup_name"));
        await Db.ExecuteAsync(connection, "SET application_name = 'changed'");
        await Db.ExecuteAsync(connection, "RESET application_name");
        var afterReset = await Db.ScalarAsync<string>(connection, "SHOW application_name");
        await Db.ExecuteAsync(connection, "SET application_name = 'changed again'");
        await Db.ExecuteAsync(connection, "RESET ALL");
        var afterResetAll = await Db.ScalarAsync<string>(connection, "SHOW application_name");
        await Db.ExecuteAsync(connection, "SET application_name = 'changed once more'");
        await Db.ExecuteAsync(connection, "DISCARD ALL");
        var afterDiscardAll = await Db.ScalarAsync<string>(connection, "SHOW application_name");
        return (afterReset, afterResetAll, afterDiscardAll);
    }
}
