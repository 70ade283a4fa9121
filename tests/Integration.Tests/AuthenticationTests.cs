using Npgsql;
using Sluice.Integration.Tests.Fixtures;
using Sluice.Integration.Tests.Support;
using Sluice.Protocol.Authentication;
using Sluice.Proxy.Configuration;

namespace Sluice.Integration.Tests;

/// <summary>How the client's password is kept in [[users]] and which method Sluice asks the client for.</summary>
public enum ClientAuth
{
    ScramVerifier,
    ScramPlain,
    Md5Hash,
    Md5Plain,
    Password,
    Trust,
}

/// <summary>
/// Every client→proxy method against every proxy→server method (the fixture's roles), with Npgsql and psql; refusals
/// carry the SQLSTATE and message PostgreSQL itself would send, and never tell a wrong password from an unknown user.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class AuthenticationTests(PostgresFixture fixture)
{
    public static TheoryData<ClientAuth, string> EveryClientMethodWithEveryServerRole()
    {
        var data = new TheoryData<ClientAuth, string>();
        foreach (var method in Enum.GetValues<ClientAuth>())
        {
            foreach (var role in TestRoles.All)
            {
                data.Add(method, role.Name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryClientMethodWithEveryServerRole))]
    public async Task Npgsql_logs_in_through_the_proxy(ClientAuth method, string roleName)
    {
        var role = TestRoles.ByName(roleName);
        await using var proxy = await StartProxyAsync(method, role);

        await using var connection = await Db.OpenAsync(proxy.ConnectionString(role.Name, method == ClientAuth.Trust ? null : ClientPassword(role)));

        Assert.Equal(role.Name, await Db.ScalarAsync<string>(connection, "SELECT current_user"));
        Assert.Equal(PostgresFixture.Database, await Db.ScalarAsync<string>(connection, "SELECT current_database()"));
    }

    [Theory]
    [InlineData(ClientAuth.ScramVerifier, "scram_user")]
    [InlineData(ClientAuth.ScramPlain, "scram_user")]
    [InlineData(ClientAuth.ScramVerifier, "md5_user")]
    [InlineData(ClientAuth.Md5Hash, "md5_user")]
    [InlineData(ClientAuth.Md5Plain, "md5_user")]
    [InlineData(ClientAuth.Md5Hash, "scram_user")]
    [InlineData(ClientAuth.Password, "plain_user")]
    [InlineData(ClientAuth.Trust, "trust_user")]
    [InlineData(ClientAuth.Trust, "scram_user")]
    public async Task Psql_logs_in_through_the_proxy(ClientAuth method, string roleName)
    {
        var role = TestRoles.ByName(roleName);
        await using var proxy = await StartProxyAsync(method, role);

        var result = await fixture.RunPsqlAsync(proxy.Port, "SELECT current_user || '@' || current_database()", role.Name, method == ClientAuth.Trust ? null : ClientPassword(role));

        Assert.True(result.Succeeded, result.StandardError);
        Assert.Equal($"{role.Name}@{PostgresFixture.Database}", result.StandardOutput.Trim());
    }

    [Theory]
    [InlineData(ClientAuth.ScramVerifier)]
    [InlineData(ClientAuth.ScramPlain)]
    [InlineData(ClientAuth.Md5Hash)]
    [InlineData(ClientAuth.Md5Plain)]
    [InlineData(ClientAuth.Password)]
    public async Task A_wrong_password_is_refused_with_28P01(ClientAuth method)
    {
        var role = TestRoles.Scram;
        await using var proxy = await StartProxyAsync(method, role);

        var npgsql = await Assert.ThrowsAsync<PostgresException>(() => Db.OpenAsync(proxy.ConnectionString(role.Name, "not the password")));
        var psql = await fixture.RunPsqlAsync(proxy.Port, "SELECT 1", role.Name, "not the password");

        Assert.Equal(PostgresErrorCodes.InvalidPassword, npgsql.SqlState);
        Assert.Equal("FATAL", npgsql.InvariantSeverity);
        Assert.Equal($"password authentication failed for user \"{role.Name}\"", npgsql.MessageText);
        Assert.NotEqual(0, psql.ExitCode);
        Assert.Contains($"FATAL:  password authentication failed for user \"{role.Name}\"", psql.StandardError, StringComparison.Ordinal);
        Assert.Equal("", psql.StandardOutput);
    }

    [Theory]
    [InlineData(ClientAuth.ScramPlain)]
    [InlineData(ClientAuth.Md5Plain)]
    [InlineData(ClientAuth.Password)]
    public async Task A_client_without_a_password_is_not_let_in(ClientAuth method)
    {
        await using var proxy = await StartProxyAsync(method, TestRoles.Scram);

        // The proxy asks for a password; neither client has one to give, so neither gets in.
        var npgsql = await Assert.ThrowsAnyAsync<NpgsqlException>(() => Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram.Name, password: null)));
        var psql = await fixture.RunPsqlAsync(proxy.Port, "SELECT 1", TestRoles.Scram.Name, password: null);

        Assert.Contains("password", npgsql.Message, StringComparison.OrdinalIgnoreCase);
        Assert.NotEqual(0, psql.ExitCode);
        Assert.Contains("no password supplied", psql.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ClientAuth.ScramVerifier)]
    [InlineData(ClientAuth.Md5Hash)]
    [InlineData(ClientAuth.Password)]
    [InlineData(ClientAuth.Trust)]
    public async Task An_unknown_user_gets_exactly_what_a_wrong_password_gets(ClientAuth methodOfTheKnownUser)
    {
        var role = TestRoles.Scram;
        await using var proxy = await StartProxyAsync(methodOfTheKnownUser, role);
        const string Ghost = "ghost_user";

        var unknown = await Assert.ThrowsAsync<PostgresException>(() => Db.OpenAsync(proxy.ConnectionString(Ghost, "whatever")));
        var unknownPsql = await fixture.RunPsqlAsync(proxy.Port, "SELECT 1", Ghost, "whatever");

        Assert.Equal(PostgresErrorCodes.InvalidPassword, unknown.SqlState);
        Assert.Equal($"password authentication failed for user \"{Ghost}\"", unknown.MessageText);
        Assert.NotEqual(0, unknownPsql.ExitCode);
        Assert.Contains($"FATAL:  password authentication failed for user \"{Ghost}\"", unknownPsql.StandardError, StringComparison.Ordinal);

        if (methodOfTheKnownUser != ClientAuth.Trust)
        {
            var wrong = await Assert.ThrowsAsync<PostgresException>(() => Db.OpenAsync(proxy.ConnectionString(role.Name, "whatever")));
            var wrongPsql = await fixture.RunPsqlAsync(proxy.Port, "SELECT 1", role.Name, "whatever");
            Assert.Equal(
                (wrong.SqlState, wrong.Severity, wrong.MessageText.Replace(role.Name, "NAME", StringComparison.Ordinal), wrong.Detail, wrong.Hint),
                (unknown.SqlState, unknown.Severity, unknown.MessageText.Replace(Ghost, "NAME", StringComparison.Ordinal), unknown.Detail, unknown.Hint));
            Assert.Equal(
                wrongPsql.StandardError.Replace(role.Name, "NAME", StringComparison.Ordinal),
                unknownPsql.StandardError.Replace(Ghost, "NAME", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData(ClientAuth.ScramPlain)]
    [InlineData(ClientAuth.Md5Plain)]
    [InlineData(ClientAuth.Trust)]
    public async Task An_unknown_database_is_refused_with_3D000_after_login(ClientAuth method)
    {
        var role = TestRoles.Scram;
        await using var proxy = await StartProxyAsync(method, role);
        var password = method == ClientAuth.Trust ? null : ClientPassword(role);

        var error = await Assert.ThrowsAsync<PostgresException>(() => Db.OpenAsync(proxy.ConnectionString(role.Name, password, database: "no_such_db")));
        var psql = await fixture.RunPsqlAsync(proxy.Port, "SELECT 1", role.Name, password, database: "no_such_db");

        Assert.Equal(PostgresErrorCodes.InvalidCatalogName, error.SqlState);
        Assert.Equal("database \"no_such_db\" does not exist", error.MessageText);
        Assert.NotEqual(0, psql.ExitCode);
        Assert.Contains("FATAL:  database \"no_such_db\" does not exist", psql.StandardError, StringComparison.Ordinal);

        // Which databases exist is not told to someone who cannot log in.
        if (method != ClientAuth.Trust)
        {
            var wrongPassword = await Assert.ThrowsAsync<PostgresException>(() => Db.OpenAsync(proxy.ConnectionString(role.Name, "wrong", database: "no_such_db")));
            Assert.Equal(PostgresErrorCodes.InvalidPassword, wrongPassword.SqlState);
        }
    }

    [Fact]
    public async Task Server_credentials_can_differ_from_the_client_credentials()
    {
        // The client logs in as "app" with its own password; the proxy logs in to PostgreSQL as md5_user.
        var user = new UserConfig
        {
            Name = "app_alias",
            Password = ScramVerifier.Create("app secret").ToString(),
            Auth = AuthMethod.ScramSha256,
            ServerUser = TestRoles.Md5.Name,
            ServerPassword = TestRoles.Md5.Password,
        };
        await using var proxy = await fixture.StartProxyAsync(TestSetup.Config(fixture, PoolMode.Transaction) with { Users = [user] });

        await using var connection = await Db.OpenAsync(proxy.ConnectionString("app_alias", "app secret"));

        Assert.Equal(TestRoles.Md5.Name, await Db.ScalarAsync<string>(connection, "SELECT current_user"));
    }

    [Fact]
    public async Task A_wrong_server_password_in_the_config_reaches_the_client_as_an_error()
    {
        var user = new UserConfig { Name = TestRoles.Scram.Name, Password = "client side", Auth = AuthMethod.Password, ServerPassword = "not what PostgreSQL has" };
        await using var proxy = await fixture.StartProxyAsync(TestSetup.Config(fixture, PoolMode.Transaction) with { Users = [user] });

        var error = await Assert.ThrowsAsync<PostgresException>(() => Db.OpenAsync(proxy.ConnectionString(TestRoles.Scram.Name, "client side")));

        Assert.Equal(PostgresErrorCodes.InvalidPassword, error.SqlState);
        Assert.Contains(TestRoles.Scram.Name, error.MessageText, StringComparison.Ordinal);
    }

    /// <summary>The password the client types: the role's own, or (trust roles) an arbitrary one the proxy checks.</summary>
    private static string ClientPassword(TestRole role) => role.Password ?? "client-side secret";

    private Task<RunningProxy> StartProxyAsync(ClientAuth method, TestRole role)
    {
        var clientPassword = ClientPassword(role);
        var (auth, stored) = method switch
        {
            ClientAuth.ScramVerifier => (AuthMethod.ScramSha256, ScramVerifier.Create(clientPassword).ToString()),
            ClientAuth.ScramPlain => (AuthMethod.ScramSha256, clientPassword),
            ClientAuth.Md5Hash => (AuthMethod.Md5, Md5Password.Hash(role.Name, clientPassword)),
            ClientAuth.Md5Plain => (AuthMethod.Md5, clientPassword),
            ClientAuth.Password => (AuthMethod.Password, clientPassword),
            _ => (AuthMethod.Trust, (string?)null),
        };

        // Only when the stored client password cannot log in to PostgreSQL does the config need server_password: a SCRAM
        // verifier never can, an md5 hash only with md5 (pass-the-hash), nothing at all only with trust.
        var storedWorksOnServer = stored is not null && !ScramVerifier.LooksLikeVerifier(stored)
            && (role.Password is null || stored == role.Password || (Md5Password.LooksLikeHash(stored) && role.ServerAuth == AuthMethod.Md5));
        var user = new UserConfig
        {
            Name = role.Name,
            Password = stored,
            Auth = auth,
            ServerPassword = storedWorksOnServer ? null : role.Password,
        };
        return fixture.StartProxyAsync(TestSetup.Config(fixture, PoolMode.Transaction) with { Users = [user] });
    }
}
