using Microsoft.Extensions.Logging;
using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Proxy.Configuration;
using Xunit.Abstractions;

namespace Sluice.Integration.Tests.Operations;

/// <summary>Live reload from the config file: RELOAD / ReloadFromSourceFile in-process, SIGHUP on the real binary.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ReloadTests(PostgresFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task A_reload_applies_users_passwords_pool_size_and_timeouts_without_dropping_the_open_client()
    {
        var directory = Tool.TempDirectory();
        try
        {
            var path = Path.Combine(directory, "proxy.toml");
            var initial = new OpsConfigFile();
            await File.WriteAllTextAsync(path, initial.Render(fixture));
            var logs = new CapturingLoggerProvider();
            using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
            await using var proxy = await fixture.StartProxyAsync(ConfigLoader.Load(path), loggerFactory);

            await using var open = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Scram));
            await open.OpenAsync();
            var pidBefore = await BackendPidAsync(open);
            await Assert.ThrowsAsync<PostgresException>(async () =>
            {
                await using var unknown = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Md5));
                await unknown.OpenAsync();
            });

            var changed = initial with { PoolSize = 7, WithMd5User = true, ScramClientPassword = "scram_new_pass", StatementTimeout = "300ms" };
            await File.WriteAllTextAsync(path, changed.Render(fixture));
            Assert.Null(proxy.Server.ReloadFromSourceFile());

            // The open session-mode client keeps its very server connection.
            Assert.Equal(pidBefore, await BackendPidAsync(open));
            Assert.All(proxy.Server.Runtime.Pools.Pools, pool => Assert.Equal(7, pool.Settings.Size));

            // The added user logs in; scram_user's old password fails and the new one works.
            await using (var added = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Md5)))
            {
                await added.OpenAsync();
                Assert.Equal(1, await ScalarAsync(added, "SELECT 1"));
            }

            var oldPassword = await Assert.ThrowsAsync<PostgresException>(async () =>
            {
                await using var stale = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Scram));
                await stale.OpenAsync();
            });
            Assert.Equal("28P01", oldPassword.SqlState);
            await using (var renewed = new NpgsqlConnection(proxy.ConnectionString(TestRoles.Scram.Name, "scram_new_pass")))
            {
                await renewed.OpenAsync();
                Assert.Equal(1, await ScalarAsync(renewed, "SELECT 1"));
            }

            // The new statement_timeout applies to the client that was open across the reload.
            var timedOut = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(open, "SELECT 1 FROM pg_sleep(3)"));
            Assert.Equal("57014", timedOut.SqlState);
            Assert.Equal(pidBefore, await BackendPidAsync(open));

            // A broken file: the error names file:line, the running config stays.
            var running = proxy.Server.Runtime.Config;
            await File.WriteAllTextAsync(path, changed.Render(fixture).Replace("[pool]", "[pool", StringComparison.Ordinal));
            var error = proxy.Server.ReloadFromSourceFile();
            output.WriteLine($"broken file -> {error}");
            Assert.NotNull(error);
            Assert.Matches($@"{System.Text.RegularExpressions.Regex.Escape(path)}:\d+", error);
            Assert.Same(running, proxy.Server.Runtime.Config);
            Assert.Contains(logs.Lines, line => line.Contains("reload failed", StringComparison.Ordinal) && line.Contains(path + ":", StringComparison.Ordinal));
            Assert.Equal(pidBefore, await BackendPidAsync(open));

            // RELOAD on the admin console re-reads the (fixed) file: back to the first config.
            await File.WriteAllTextAsync(path, initial.Render(fixture));
            await using (var admin = new NpgsqlConnection(proxy.ConnectionString(PostgresFixture.AdminUser, PostgresFixture.AdminPassword, "sluice")))
            {
                await admin.OpenAsync();
                await using var reload = new NpgsqlCommand("RELOAD", admin);
                await reload.ExecuteNonQueryAsync();
            }

            Assert.All(proxy.Server.Runtime.Pools.Pools, pool => Assert.Equal(4, pool.Settings.Size));
            Assert.Equal(1, await ScalarAsync(open, "SELECT 1 FROM pg_sleep(0.5)"));
            Assert.Equal(pidBefore, await BackendPidAsync(open));
            Assert.Equal(2, logs.Lines.Count(line => line.Contains("configuration reloaded from " + path, StringComparison.Ordinal)));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Sighup_reloads_the_running_binary_and_sigterm_exits_0()
    {
        var directory = Tool.TempDirectory();
        try
        {
            var path = Path.Combine(directory, "proxy.toml");
            await File.WriteAllTextAsync(path, new OpsConfigFile { PoolMode = "transaction" }.Render(fixture));
            await using var sluice = SluiceBinary.Start(path);
            var (port, _) = await SluiceBinary.WaitForPortsAsync(sluice);

            var md5 = SluiceBinary.ConnectionString(port, TestRoles.Md5.Name, TestRoles.Md5.Password);
            await Assert.ThrowsAsync<PostgresException>(async () =>
            {
                await using var refused = new NpgsqlConnection(md5);
                await refused.OpenAsync();
            });
            await using var open = new NpgsqlConnection(SluiceBinary.ConnectionString(port, TestRoles.Scram.Name, TestRoles.Scram.Password));
            await open.OpenAsync();

            await File.WriteAllTextAsync(path, new OpsConfigFile { PoolMode = "transaction", WithMd5User = true }.Render(fixture));
            var seen = sluice.LineCount;
            await sluice.SignalAsync("HUP");
            await sluice.WaitForLineAsync("configuration reloaded from", TimeSpan.FromSeconds(10), seen);
            await using (var added = new NpgsqlConnection(md5))
            {
                await added.OpenAsync();
                Assert.Equal(1, await ScalarAsync(added, "SELECT 1"));
            }

            Assert.Equal(1, await ScalarAsync(open, "SELECT 1"));

            // A broken file on SIGHUP: logged with file:line, the proxy keeps serving.
            await File.WriteAllTextAsync(path, "[pool]\nsize = \"many\"\n");
            seen = sluice.LineCount;
            await sluice.SignalAsync("HUP");
            var failed = await sluice.WaitForLineAsync("reload failed", TimeSpan.FromSeconds(10), seen);
            await sluice.WaitForLineAsync(path + ":", TimeSpan.FromSeconds(5), seen);
            output.WriteLine(failed);
            Assert.Equal(1, await ScalarAsync(open, "SELECT 1"));

            await open.CloseAsync();
            await sluice.SignalAsync("TERM");
            Assert.True(await sluice.WaitForExitAsync(TimeSpan.FromSeconds(20)), sluice.Output);
            Assert.Equal(0, sluice.ExitCode);
            output.WriteLine(sluice.Output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<int> BackendPidAsync(NpgsqlConnection connection) => await ScalarAsync(connection, "SELECT pg_backend_pid()");

    internal static async Task<int> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt32(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
