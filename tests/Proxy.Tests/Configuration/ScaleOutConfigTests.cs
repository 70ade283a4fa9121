using Sluice.Proxy.Configuration;
using Sluice.Proxy.Peering;

namespace Sluice.Proxy.Tests.Configuration;

/// <summary>auth_user / auth_query, the wildcard database, peer_id and [[peers]], reuse_port.</summary>
public sealed class ScaleOutConfigTests
{
    private const string File = "test.toml";

    private const string Base = """
        [[users]]
        name = "lookup"
        password = "secret"

        [[databases]]
        name = "shop"
        servers = [{ host = "127.0.0.1", port = 5432, role = "primary" }]
        """;

    private static IReadOnlyList<ConfigError> Errors(string toml) =>
        Assert.Throws<ConfigException>(() => ConfigLoader.Parse(toml, File)).Errors;

    [Fact]
    public void Keys_are_read_and_defaults_are_safe()
    {
        var defaults = ConfigLoader.Parse(Base, File);
        Assert.Equal("", defaults.Server.AuthUser);
        Assert.Equal("SELECT usename, passwd FROM pg_catalog.pg_shadow WHERE usename = $1", defaults.Server.AuthQuery);
        Assert.Equal(TimeSpan.FromSeconds(30), defaults.Server.AuthCacheTtl);
        Assert.Equal(0, defaults.Server.PeerId);
        Assert.Equal(OperatingSystem.IsLinux(), defaults.Server.ReusePort);

        var config = ConfigLoader.Parse("""
            [server]
            auth_user = "lookup"
            auth_cache_ttl = "5s"
            peer_id = 3
            reuse_port = false

            [[peers]]
            id = 4
            host = "10.0.0.4"

            [[peers]]
            id = 5
            host = "10.0.0.5"
            port = 7432
            """ + "\n" + Base + "\nauth_query = \"SELECT u, p FROM auth.lookup($1)\"\n", File);
        Assert.Equal("lookup", config.Server.AuthUser);
        Assert.Equal(TimeSpan.FromSeconds(5), config.Server.AuthCacheTtl);
        Assert.Equal(3, config.Server.PeerId);
        Assert.False(config.Server.ReusePort);
        Assert.Equal("SELECT u, p FROM auth.lookup($1)", config.Databases[0].AuthQuery);
        Assert.Equal([(4, "10.0.0.4", 6432), (5, "10.0.0.5", 7432)], config.Peers.Select(p => (p.Id, p.Host, p.Port)));
        Assert.Equal(5, config.FindPeer(5)?.Id);
        Assert.Null(config.FindPeer(6));
    }

    [Fact]
    public void Auth_user_must_be_a_user_that_can_log_in_to_PostgreSQL()
    {
        var missing = Assert.Single(Errors("[server]\nauth_user = \"nobody\"\n" + Base));
        Assert.Equal(2, missing.Line);
        Assert.Contains("'nobody' has no [[users]] entry", missing.Message, StringComparison.Ordinal);

        var verifierOnly = Errors("""
            [server]
            auth_user = "v"

            [[users]]
            name = "v"
            password = "SCRAM-SHA-256$4096:XIo/Dh0rSml44PGis8TV5g==$9WJdQlG3RQqYKlCXmqYRUDxH7s/rKCPLkGWuDg2p/lM=:ZTN+9Q3ALa86FRYAtr9Y53avUXFaEaoOf6wEiDHIJzE="
            """ + "\n" + Base);
        Assert.Contains(verifierOnly, e => e.Message.Contains("only a SCRAM verifier", StringComparison.Ordinal));
    }

    [Fact]
    public void Peers_need_a_unique_id_in_range_and_a_host()
    {
        var errors = Errors(Base + """

            [[peers]]
            id = 2
            host = "a"

            [[peers]]
            id = 2
            host = "b"

            [[peers]]
            id = 4096
            host = "c"

            [[peers]]
            host = "d"
            """);
        Assert.Contains(errors, e => e.Message.Contains("duplicate peer id 2", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Message.Contains("peers.id", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Message.Contains("without an id", StringComparison.Ordinal));
    }

    [Fact]
    public void Peers_without_a_peer_id_are_a_warning()
    {
        ConfigLoader.Parse(Base + "\n[[peers]]\nid = 2\nhost = \"a\"\n", File, out var warnings);
        Assert.Contains(warnings, w => w.Message.Contains("peer_id is 0", StringComparison.Ordinal));
    }

    [Fact]
    public void The_wildcard_database_serves_any_other_name_under_that_name()
    {
        var config = ConfigLoader.Parse(Base + """

            [[databases]]
            name = "*"
            servers = [{ host = "10.0.0.9", port = 5432, role = "primary" }]
            """, File);

        Assert.Equal("shop", config.FindDatabase("shop")!.Name);
        var other = config.FindDatabase("reports")!;
        Assert.Equal(("reports", "reports", "*", "10.0.0.9"), (other.Name, other.ServerDatabase, other.HealthName, other.Servers[0].Host));
        Assert.Equal("postgres", config.FindDatabase("*")!.ServerDatabase);

        var error = Assert.Single(Errors(Base + "\n[[databases]]\nname = \"*\"\nbackend_database = \"x\"\nservers = [{ host = \"h\" }]\n"));
        Assert.Contains("cannot have a backend_database", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(PeerCancelKeys.MaxPeerId)]
    public void Cancel_keys_carry_the_peer_id_and_stay_positive(int peerId)
    {
        for (var i = 0; i < 1000; i++)
        {
            var processId = PeerCancelKeys.NewProcessId(peerId);
            Assert.True(processId > 0);
            Assert.Equal(peerId, PeerCancelKeys.PeerIdOf(processId));
        }
    }

    [Fact]
    public void Without_peering_cancel_keys_are_all_random_and_handled_locally()
    {
        Assert.Null(PeerCancelForwarder.OwnerOf(PeerCancelKeys.NewProcessId(7), ownPeerId: 0));
        Assert.Null(PeerCancelForwarder.OwnerOf(PeerCancelKeys.NewProcessId(3), ownPeerId: 3));
        Assert.Equal(7, PeerCancelForwarder.OwnerOf(PeerCancelKeys.NewProcessId(7), ownPeerId: 3));
    }
}
