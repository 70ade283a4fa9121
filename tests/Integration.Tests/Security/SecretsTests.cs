using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Security.Support;
using Sluice.Protocol.Authentication;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests.Security;

/// <summary>Passwords, md5 hashes and SCRAM verifiers never reach a log line or /metrics, whatever the login does.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SecretsTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Logins_right_and_wrong_leave_no_secret_in_logs_or_metrics()
    {
        var wrongPassword = "wrong-" + Guid.NewGuid().ToString("N");
        var wrongServerPassword = "server-" + Guid.NewGuid().ToString("N");
        var verifier = ScramVerifier.Create(TestRoles.Scram.Password!);
        var config = fixture.CreateProxyConfig();
        config = config with
        {
            Users =
            [
                .. config.Users,
                new UserConfig { Name = "verifier_user", Password = verifier.ToString(), ServerUser = TestRoles.Scram.Name, ServerPassword = TestRoles.Scram.Password },
                new UserConfig { Name = "bad_server_password", Password = "client-side-ok", ServerUser = TestRoles.Scram.Name, ServerPassword = wrongServerPassword },
            ],
        };
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = logs.CreateFactory();
        await using var proxy = await fixture.StartProxyAsync(config, loggerFactory);

        foreach (var role in new[] { TestRoles.Scram, TestRoles.Md5, TestRoles.Plain })
        {
            await LoginAsync(proxy.ConnectionString(role), expectSuccess: true);
            await LoginAsync(proxy.ConnectionString(role.Name, wrongPassword), expectSuccess: false);
        }

        await LoginAsync(proxy.ConnectionString("verifier_user", TestRoles.Scram.Password), expectSuccess: true);
        await LoginAsync(proxy.ConnectionString("verifier_user", wrongPassword), expectSuccess: false);
        await LoginAsync(proxy.ConnectionString("no_such_user", wrongPassword), expectSuccess: false);
        await LoginAsync(proxy.ConnectionString("bad_server_password", "client-side-ok"), expectSuccess: false);

        using var http = new HttpClient { BaseAddress = proxy.HttpBaseAddress };
        // /metrics may not be served by every build of the proxy yet; what it serves must be clean.
        using var response = await http.GetAsync(new Uri("metrics", UriKind.Relative));
        var metrics = response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : "";

        string[] secrets =
        [
            TestRoles.Scram.Password!, TestRoles.Md5.Password!, TestRoles.Plain.Password!, wrongPassword, wrongServerPassword, "client-side-ok",
            Md5Password.Hash(TestRoles.Md5.Name, TestRoles.Md5.Password!), verifier.ToString(),
            Convert.ToBase64String(verifier.StoredKey), Convert.ToBase64String(verifier.ServerKey),
        ];
        var logText = string.Join("\n", logs.Entries.Select(entry => entry.AllText));
        Assert.Contains("authentication failed", logText, StringComparison.Ordinal);
        Assert.Contains("client connected", logText, StringComparison.Ordinal);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, logText, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, metrics, StringComparison.Ordinal);
        }
    }

    private static async Task LoginAsync(string connectionString, bool expectSuccess)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        if (expectSuccess)
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync();
        }
        else
        {
            await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync());
        }
    }
}
