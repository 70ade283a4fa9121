using System.Globalization;
using Sluice.Integration.Tests.Fixtures;

namespace Sluice.Integration.Tests.Operations;

/// <summary>A proxy.toml for the fixture's cluster, written as an operator would, with the knobs the reload tests turn.</summary>
internal sealed record OpsConfigFile
{
    public string Listen { get; init; } = "127.0.0.1:0";

    public string HttpListen { get; init; } = "127.0.0.1:0";

    public string PoolMode { get; init; } = "session";

    public int PoolSize { get; init; } = 4;

    public string StatementTimeout { get; init; } = "0";

    public string ShutdownTimeout { get; init; } = "30s";

    /// <summary>scram_user's client password (it logs in to PostgreSQL with server_password, which stays).</summary>
    public string ScramClientPassword { get; init; } = TestRoles.Scram.Password!;

    /// <summary>Whether md5_user has an entry (the reload test adds it).</summary>
    public bool WithMd5User { get; init; }

    public string Render(PostgresFixture fixture)
    {
        var md5 = WithMd5User
            ? $"""

              [[users]]
              name = "{TestRoles.Md5.Name}"
              password = "{TestRoles.Md5.Password}"
              auth = "md5"

              """
            : "";
        return string.Create(CultureInfo.InvariantCulture, $"""
            [server]
            listen = ["{Listen}"]
            http_listen = "{HttpListen}"
            admin_users = ["{PostgresFixture.AdminUser}"]
            shutdown_timeout = "{ShutdownTimeout}"

            [pool]
            mode = "{PoolMode}"
            size = {PoolSize}

            [limits]
            statement_timeout = "{StatementTimeout}"

            [[users]]
            name = "{TestRoles.Scram.Name}"
            password = "{ScramClientPassword}"
            server_password = "{TestRoles.Scram.Password}"
            auth = "scram-sha-256"

            [[users]]
            name = "{PostgresFixture.AdminUser}"
            password = "{PostgresFixture.AdminPassword}"
            auth = "scram-sha-256"
            {md5}
            [[databases]]
            name = "{PostgresFixture.Database}"
            servers = [
              {"{"} host = "127.0.0.1", port = {fixture.PrimaryPort}, role = "primary" {"}"},
              {"{"} host = "127.0.0.1", port = {fixture.ReplicaPort}, role = "replica" {"}"},
            ]

            """);
    }
}
