using Microsoft.Extensions.Logging;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;
using Xunit.Abstractions;

namespace Sluice.Integration.Tests.Operations;

/// <summary>The operator's log lines: connect/disconnect, pool wait timeout, health ban/role, reload, slow statement; never a secret.</summary>
[Collection(PostgresCollection.Name)]
public sealed class LogTests(PostgresFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Each_event_an_operator_needs_is_one_log_line_and_no_secret_is_logged()
    {
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        var deadPort = Tool.FreePort();
        var config = fixture.CreateProxyConfig(poolSize: 1);
        config = config with
        {
            Pool = config.Pool with { CheckoutTimeout = TimeSpan.FromMilliseconds(300) },
            Limits = config.Limits with { SlowStatementLog = TimeSpan.FromMilliseconds(200) },
            Routing = config.Routing with { HealthCheckInterval = TimeSpan.FromMilliseconds(200) },
            Databases =
            [
                config.Databases[0] with
                {
                    Servers = [.. config.Databases[0].Servers, new BackendServerConfig { Host = "127.0.0.1", Port = deadPort, Role = ServerRole.Replica }],
                },
            ],
        };
        await using var proxy = await fixture.StartProxyAsync(config, loggerFactory);

        // Connection and disconnection, with user, database, address, duration and reason.
        await using (var client = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Scram)))
        {
            await client.OpenAsync();
            await ExecuteAsync(client, "SELECT 1");
        }

        var connected = await logs.WaitForAsync("client connected: user=scram_user", TimeSpan.FromSeconds(5));
        var disconnected = await logs.WaitForAsync("client disconnected: user=scram_user", TimeSpan.FromSeconds(5));
        Assert.Contains($"database={PostgresFixture.Database} address=127.0.0.1", connected, StringComparison.Ordinal);
        Assert.Matches(@"duration=\d+\.\d{3}s reason=client sent Terminate", disconnected);

        // Pool wait timeout: one server connection to the primary, held by an open transaction.
        await using (var holder = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Md5)))
        await using (var waiter = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Md5)))
        {
            await holder.OpenAsync();
            await using var transaction = await holder.BeginTransactionAsync();
            await ExecuteAsync(holder, "SELECT 1");
            await waiter.OpenAsync();
            var timeout = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(waiter, "/* sluice:primary */ SELECT 1"));
            Assert.Equal("53300", timeout.SqlState);
        }

        var poolTimeout = await logs.WaitForAsync("pool wait timeout: user=md5_user", TimeSpan.FromSeconds(5));

        // Slow statement above [limits] slow_statement_log.
        await using (var slow = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Scram)))
        {
            await slow.OpenAsync();
            await ExecuteAsync(slow, "SELECT pg_sleep(0.4), $$key-s3cret$$ AS key");
        }

        // The statement is logged with its literals hidden, numbers and dollar-quoted strings included.
        var slowLine = await logs.WaitForAsync("slow statement: user=scram_user", TimeSpan.FromSeconds(5));
        Assert.Contains("SELECT pg_sleep(?), '?' AS key", slowLine, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", slowLine, StringComparison.Ordinal);

        // Health: the dead server is banned, the live ones are logged up with their role.
        var banned = await logs.WaitForAsync($"server 127.0.0.1:{deadPort} of database {PostgresFixture.Database} (replica) failed its health check", TimeSpan.FromSeconds(10));
        var up = await logs.WaitForAsync($"server 127.0.0.1:{fixture.PrimaryPort} of database {PostgresFixture.Database} is up: primary", TimeSpan.FromSeconds(10));

        // Reload.
        proxy.Server.Reload(config with { Limits = config.Limits with { SlowStatementLog = TimeSpan.FromSeconds(1) } });
        var reloaded = await logs.WaitForAsync("configuration reloaded from", TimeSpan.FromSeconds(5));

        foreach (var line in new[] { connected, disconnected, poolTimeout, slowLine, banned, up, reloaded })
        {
            output.WriteLine(line);
        }

        // The roles' passwords are distinct words (scram_pass, md5_pass...) that appear nowhere else.
        foreach (var secret in TestRoles.All.Select(role => role.Password).OfType<string>())
        {
            Assert.DoesNotContain(logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(logs.Lines, line => line.Contains("SCRAM-SHA-256$", StringComparison.Ordinal) || line.Contains("password=", StringComparison.OrdinalIgnoreCase));
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
