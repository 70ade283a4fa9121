using Sluice.Proxy.Configuration;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.Tests.Configuration;

public sealed class ConfigLoaderTests
{
    private const string File = "test.toml";

    /// <summary>A minimal valid document; tests append to it.</summary>
    private const string Valid = """
        [[users]]
        name = "app"
        password = "secret"

        [[databases]]
        name = "shop"
        servers = [{ host = "127.0.0.1", port = 5432, role = "primary" }]
        """;

    private const string Verifier =
        "SCRAM-SHA-256$4096:XIo/Dh0rSml44PGis8TV5g==$9WJdQlG3RQqYKlCXmqYRUDxH7s/rKCPLkGWuDg2p/lM=:ZTN+9Q3ALa86FRYAtr9Y53avUXFaEaoOf6wEiDHIJzE=";

    private static IReadOnlyList<ConfigError> Errors(string toml)
    {
        var exception = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(toml, File));
        Assert.NotEmpty(exception.Errors);
        Assert.All(exception.Errors, error => Assert.Equal(File, error.File));
        return exception.Errors;
    }

    private static ConfigError SingleError(string toml) => Assert.Single(Errors(toml));

    private static IReadOnlyList<ConfigError> Warnings(string toml)
    {
        ConfigLoader.Parse(toml, File, out var warnings);
        return warnings;
    }

    internal static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(directory.FullName, "Proxy.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Proxy.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void The_repository_example_config_loads()
    {
        var path = Path.Combine(RepositoryRoot(), "proxy.toml");

        var config = ConfigLoader.Load(path, out var warnings);

        Assert.Equal(path, config.SourcePath);
        Assert.Equal<string>(["127.0.0.1:6432"], config.Server.Listen);
        Assert.Equal("127.0.0.1:9930", config.Server.HttpListen);
        Assert.Equal("sluice", config.Server.AdminDatabase);
        Assert.Equal<string>(["admin"], config.Server.AdminUsers);
        Assert.Equal(PoolMode.Transaction, config.Pool.Mode);
        Assert.Equal(TimeSpan.FromMilliseconds(250), config.Routing.LagCheckInterval);

        var app = Assert.IsType<UserConfig>(config.FindUser("app"));
        Assert.Equal(AuthMethod.ScramSha256, app.Auth);
        Assert.Equal(TimeSpan.FromSeconds(30), app.StatementTimeout);
        var admin = Assert.IsType<UserConfig>(config.FindUser("admin"));
        Assert.StartsWith("SCRAM-SHA-256$4096:", admin.Password, StringComparison.Ordinal);

        var database = Assert.Single(config.Databases);
        Assert.Equal("app", database.Name);
        Assert.Equal(
            [("127.0.0.1", 5432, ServerRole.Primary), ("127.0.0.1", 5433, ServerRole.Replica)],
            database.Servers.Select(server => (server.Host, server.Port, server.Role)));

        // The example keeps one plain-text password to stay simple, and says so.
        var warning = Assert.Single(warnings);
        Assert.Contains("user 'app' has a plain-text password", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_document_is_all_defaults()
    {
        var config = ConfigLoader.Parse("", File);

        Assert.Equal(new ServerSection().ToString(), config.Server.ToString());
        Assert.Equal<string>(["127.0.0.1:6432"], config.Server.Listen);
        Assert.Equal<string>(["admin"], config.Server.AdminUsers);
        Assert.Empty(config.Server.Allow);
        Assert.Equal(new PoolSection(), config.Pool);
        Assert.Equal(new LimitsSection(), config.Limits);
        Assert.Equal(new RoutingSection(), config.Routing);
        Assert.Equal(new TlsSection(), config.Tls);
        Assert.Empty(config.Users);
        Assert.Empty(config.Databases);
        Assert.Equal(File, config.SourcePath);
    }

    [Fact]
    public void Every_key_is_read_into_the_config()
    {
        var config = ConfigLoader.Parse($$"""
            [server]
            listen = ["0.0.0.0:7432", "[::1]:7433"]
            http_listen = ""
            max_client_connections = 50
            admin_database = "console"
            admin_users = ["root"]
            shutdown_timeout = "1m"
            allow = ["10.0.0.0/8", "::1/128"]

            [tls]
            mode = "disable"
            server_mode = "verify-full"

            [pool]
            mode = "session"
            size = 7
            min_size = 2
            checkout_timeout = "250ms"
            server_idle_timeout = "0"
            server_lifetime = "2h30m"
            reset_query = ""
            prepared_statements = false
            prepared_statements_per_server = 10
            server_connect_timeout = "3s"

            [limits]
            statement_timeout = "1s"
            idle_in_transaction_timeout = "2s"
            client_idle_timeout = "3s"
            client_login_timeout = "4s"
            slow_statement_log = "500ms"
            max_user_client_connections = 9

            [routing]
            read_write_split = false
            max_replica_lag = "5s"
            lag_check_interval = "1s"
            health_check_interval = "2s"
            ban_time = "0"
            load_balancing = "round_robin"
            read_consistency = "session"
            max_read_wait = "20ms"
            failover_wait = "12s"
            read_your_writes = true

            [[users]]
            name = "root"
            password = "{{Verifier}}"
            auth = "scram-sha-256"
            max_client_connections = 3
            statement_timeout = "10s"
            idle_in_transaction_timeout = "20s"
            pool_mode = "statement"
            pool_size = 4
            server_user = "postgres"
            server_password = "pw"

            [[users]]
            name = "guest"
            auth = "trust"

            [[databases]]
            name = "shop"
            backend_database = "shop_prod"
            pool_size = 5
            min_pool_size = 1
            pool_mode = "transaction"
            servers = [
              { host = "db1.example.com", port = 5432, role = "auto" },
              { host = "::1", port = 5433, role = "replica" },
              { host = "db3" },
            ]
            """, File);

        Assert.Equal(
            new ServerSection
            {
                Listen = ["0.0.0.0:7432", "[::1]:7433"],
                HttpListen = "",
                MaxClientConnections = 50,
                AdminDatabase = "console",
                AdminUsers = ["root"],
                ShutdownTimeout = TimeSpan.FromMinutes(1),
                Allow = ["10.0.0.0/8", "::1/128"],
            }.ToString(),
            config.Server.ToString());
        Assert.Equal<string>(["0.0.0.0:7432", "[::1]:7433"], config.Server.Listen);
        Assert.Equal<string>(["root"], config.Server.AdminUsers);
        Assert.Equal<string>(["10.0.0.0/8", "::1/128"], config.Server.Allow);
        Assert.Equal(new TlsSection { ServerMode = ServerTlsMode.VerifyFull }, config.Tls);
        Assert.Equal(
            new PoolSection
            {
                Mode = PoolMode.Session,
                Size = 7,
                MinSize = 2,
                CheckoutTimeout = TimeSpan.FromMilliseconds(250),
                ServerIdleTimeout = TimeSpan.Zero,
                ServerLifetime = TimeSpan.FromMinutes(150),
                ResetQuery = "",
                PreparedStatements = false,
                PreparedStatementsPerServer = 10,
                ServerConnectTimeout = TimeSpan.FromSeconds(3),
            },
            config.Pool);
        Assert.Equal(
            new LimitsSection
            {
                StatementTimeout = TimeSpan.FromSeconds(1),
                IdleInTransactionTimeout = TimeSpan.FromSeconds(2),
                ClientIdleTimeout = TimeSpan.FromSeconds(3),
                ClientLoginTimeout = TimeSpan.FromSeconds(4),
                SlowStatementLog = TimeSpan.FromMilliseconds(500),
                MaxUserClientConnections = 9,
            },
            config.Limits);
        Assert.Equal(
            new RoutingSection
            {
                ReadWriteSplit = false,
                MaxReplicaLag = TimeSpan.FromSeconds(5),
                LagCheckInterval = TimeSpan.FromSeconds(1),
                HealthCheckInterval = TimeSpan.FromSeconds(2),
                BanTime = TimeSpan.Zero,
                LoadBalancing = LoadBalancing.RoundRobin,
                ReadYourWrites = true,
                ReadConsistency = ReadConsistency.Session,
                MaxReadWait = TimeSpan.FromMilliseconds(20),
                FailoverWait = TimeSpan.FromSeconds(12),
            },
            config.Routing);
        Assert.Equal(
            new UserConfig
            {
                Name = "root",
                Password = Verifier,
                Auth = AuthMethod.ScramSha256,
                MaxClientConnections = 3,
                StatementTimeout = TimeSpan.FromSeconds(10),
                IdleInTransactionTimeout = TimeSpan.FromSeconds(20),
                PoolMode = PoolMode.Statement,
                PoolSize = 4,
                ServerUser = "postgres",
                ServerPassword = "pw",
            },
            config.Users[0]);
        Assert.Equal(new UserConfig { Name = "guest", Auth = AuthMethod.Trust }, config.Users[1]);
        var database = Assert.Single(config.Databases);
        Assert.Equal(("shop", "shop_prod", 5, 1, PoolMode.Transaction), (database.Name, database.BackendDatabase, database.PoolSize, database.MinPoolSize, database.PoolMode));
        Assert.Equal<BackendServerConfig>(
            [
                new BackendServerConfig { Host = "db1.example.com", Port = 5432, Role = ServerRole.Auto },
                new BackendServerConfig { Host = "::1", Port = 5433, Role = ServerRole.Replica },
                new BackendServerConfig { Host = "db3", Port = 5432, Role = ServerRole.Primary },
            ],
            database.Servers);
    }

    [Theory]
    [InlineData("scram-sha-256", AuthMethod.ScramSha256)]
    [InlineData("md5", AuthMethod.Md5)]
    [InlineData("password", AuthMethod.Password)]
    [InlineData("trust", AuthMethod.Trust)]
    public void Auth_methods(string text, AuthMethod expected)
    {
        var config = ConfigLoader.Parse($"[[users]]\nname = \"u\"\nauth = \"{text}\"\npassword = \"pw\"", File);

        Assert.Equal(expected, Assert.Single(config.Users).Auth);
    }

    [Theory]
    [InlineData("disable", ServerTlsMode.Disable)]
    [InlineData("prefer", ServerTlsMode.Prefer)]
    [InlineData("require", ServerTlsMode.Require)]
    [InlineData("verify-full", ServerTlsMode.VerifyFull)]
    public void Server_tls_modes(string text, ServerTlsMode expected)
    {
        Assert.Equal(expected, ConfigLoader.Parse($"[tls]\nserver_mode = \"{text}\"", File).Tls.ServerMode);
    }

    [Theory]
    [InlineData("least_outstanding", LoadBalancing.LeastOutstanding)]
    [InlineData("round_robin", LoadBalancing.RoundRobin)]
    [InlineData("random", LoadBalancing.Random)]
    public void Load_balancing_policies(string text, LoadBalancing expected)
    {
        Assert.Equal(expected, ConfigLoader.Parse($"[routing]\nload_balancing = \"{text}\"", File).Routing.LoadBalancing);
    }

    [Theory]
    // Unknown keys and sections
    [InlineData("[server]\nlisen = [\"127.0.0.1:6432\"]", 2, "unknown key 'lisen' in [server]; did you mean 'listen'?")]
    [InlineData("[pool]\nsize = 1\nfrobnicate = true", 3, "unknown key 'frobnicate' in [pool]; known keys: mode, size,")]
    [InlineData("\n[extra]\na = 1", 2, "unknown section [extra]")]
    [InlineData("[[extras]]", 1, "unknown section [[extras]]")]
    [InlineData("verbose = true", 1, "unknown key 'verbose' at the top level")]
    [InlineData("[pool.sub]", 1, "unknown section [pool.sub]")]
    [InlineData("[[users]]\nname = \"u\"\nauth = \"trust\"\npasword = \"x\"", 4, "unknown key 'pasword' in [[users]]; did you mean 'password'?")]
    [InlineData("[[databases]]\nname = \"d\"\nservers = [{ host = \"h\", prot = 1 }]", 3, "unknown key 'prot' in a databases.servers entry; did you mean 'port'?")]
    // Types
    [InlineData("[pool]\nsize = \"20\"", 2, "pool.size: expected an integer, got a string (\"20\")")]
    [InlineData("[pool]\nsize = 2.5", 2, "pool.size: expected an integer, got a float (2.5)")]
    [InlineData("[pool]\nprepared_statements = \"yes\"", 2, "pool.prepared_statements: expected true or false")]
    [InlineData("[server]\nlisten = \"127.0.0.1:6432\"", 2, "server.listen: expected an array of strings")]
    [InlineData("[server]\nallow = [\n\"10.0.0.0/8\",\n5]", 4, "server.allow: expected strings in the array, got an integer (5)")]
    [InlineData("[server]\nadmin_database = 1", 2, "server.admin_database: expected a string")]
    [InlineData("server = 1", 1, "server: expected a table ([server]), got an integer")]
    [InlineData("users = 1", 1, "users: expected [[users]] tables")]
    [InlineData("[users]\nname = \"x\"", 1, "users: expected [[users]] tables, got a table")]
    [InlineData("[pool]\nsize = 3000000000", 2, "pool.size is too large (got 3000000000; at most 2147483647)")]
    [InlineData("[pool]\nmode = 1", 2, "pool.mode: expected a string")]
    // Durations
    [InlineData("[pool]\ncheckout_timeout = \"5\"", 2, "pool.checkout_timeout: invalid duration \"5\"")]
    [InlineData("[pool]\ncheckout_timeout = \"5 s\"", 2, "invalid duration")]
    [InlineData("[limits]\nstatement_timeout = 30", 2, "limits.statement_timeout: expected a duration string such as \"30s\" (\"0\" to disable), got an integer (30)")]
    [InlineData("[limits]\nstatement_timeout = \"-1s\"", 2, "invalid duration")]
    [InlineData("[limits]\nstatement_timeout = \"1d\"", 2, "invalid duration")]
    [InlineData("[limits]\nstatement_timeout = \"1000h\"", 2, "invalid duration")]
    [InlineData("[routing]\nlag_check_interval = \"0\"", 2, "routing.lag_check_interval must be greater than 0")]
    [InlineData("[routing]\nhealth_check_interval = \"0s\"", 2, "routing.health_check_interval must be greater than 0")]
    [InlineData("[[users]]\nname = \"u\"\nauth = \"trust\"\nstatement_timeout = \"fast\"", 4, "users.statement_timeout: invalid duration \"fast\"")]
    // Enums
    [InlineData("[pool]\nmode = \"sessions\"", 2, "pool.mode: invalid value \"sessions\"; allowed: session, transaction, statement")]
    [InlineData("[tls]\nmode = \"on\"", 2, "tls.mode: invalid value \"on\"; allowed: disable, allow, require")]
    [InlineData("[tls]\nserver_mode = \"verify-ca\"", 2, "tls.server_mode: invalid value \"verify-ca\"; allowed: disable, prefer, require, verify-full")]
    [InlineData("[routing]\nload_balancing = \"fastest\"", 2, "allowed: least_outstanding, round_robin, random")]
    [InlineData("[[users]]\nname = \"u\"\npassword = \"p\"\nauth = \"scram\"", 4, "users.auth: invalid value \"scram\"; allowed: scram-sha-256, md5, password, trust")]
    [InlineData("[[users]]\nname = \"u\"\nauth = \"trust\"\npool_mode = \"none\"", 4, "users.pool_mode: invalid value \"none\"")]
    [InlineData("[[databases]]\nname = \"d\"\npool_mode = \"x\"\nservers = [{ host = \"h\" }]", 3, "databases.pool_mode: invalid value \"x\"")]
    [InlineData("[[databases]]\nname = \"d\"\nservers = [{ host = \"h\", role = \"standby\" }]", 3, "databases.servers.role: invalid value \"standby\"; allowed: primary, replica, auto")]
    // Sizes
    [InlineData("[pool]\nsize = 0", 2, "pool.size must be at least 1 (got 0)")]
    [InlineData("[pool]\nmin_size = -1", 2, "pool.min_size must not be negative (got -1)")]
    [InlineData("[pool]\nsize = 5\nmin_size = 6", 3, "pool.min_size 6 is larger than pool.size 5")]
    [InlineData("[server]\nmax_client_connections = 0", 2, "server.max_client_connections must be at least 1")]
    [InlineData("[limits]\nmax_user_client_connections = -5", 2, "limits.max_user_client_connections must not be negative")]
    [InlineData("[pool]\nprepared_statements_per_server = 0", 2, "must be at least 1")]
    [InlineData("[[users]]\nname = \"u\"\nauth = \"trust\"\npool_size = 0", 4, "users.pool_size must be at least 1")]
    [InlineData("[[users]]\nname = \"u\"\nauth = \"trust\"\nmax_client_connections = -1", 4, "users.max_client_connections must not be negative")]
    [InlineData("[[databases]]\nname = \"d\"\npool_size = 2\nmin_pool_size = 3\nservers = [{ host = \"h\" }]", 4, "database 'd': min_pool_size 3 is larger than pool_size 2")]
    [InlineData("[pool]\nmin_size = 4\n[[databases]]\nname = \"d\"\npool_size = 2\nservers = [{ host = \"h\" }]", 5, "min_pool_size 4 (from pool.min_size) is larger than pool_size 2")]
    [InlineData("[[databases]]\nname = \"d\"\nmin_pool_size = -1\nservers = [{ host = \"h\" }]", 3, "databases.min_pool_size must not be negative")]
    // Names
    [InlineData("[[users]]\nname = \"a\"\nauth = \"trust\"\n[[users]]\nname = \"b\"\nauth = \"trust\"\n[[users]]\nname = \"a\"\nauth = \"trust\"", 8, "duplicate user 'a' (first defined at line 2)")]
    [InlineData("[[databases]]\nname = \"d\"\nservers = [{ host = \"h\" }]\n[[databases]]\nname = \"d\"\nservers = [{ host = \"h\" }]", 5, "duplicate database 'd' (first defined at line 2)")]
    [InlineData("[[users]]\nauth = \"trust\"", 1, "[[users]] entry without a name")]
    [InlineData("[[users]]\nname = \"\"\nauth = \"trust\"", 2, "users.name must not be empty")]
    [InlineData("\n[[databases]]\nservers = [{ host = \"h\" }]", 2, "[[databases]] entry without a name")]
    [InlineData("[[databases]]\nname = \"d\"\nbackend_database = \"\"\nservers = [{ host = \"h\" }]", 3, "databases.backend_database must not be empty")]
    [InlineData("[[users]]\nname = \"u\"\nauth = \"trust\"\nserver_user = \"\"", 4, "users.server_user must not be empty")]
    [InlineData("[server]\nadmin_database = \"\"", 2, "server.admin_database must not be empty")]
    // Databases and servers
    [InlineData("[[databases]]\nname = \"d\"", 1, "database 'd' has no servers")]
    [InlineData("[[databases]]\nname = \"d\"\nservers = []", 3, "database 'd' has no servers")]
    [InlineData("[[databases]]\nname = \"d\"\nservers = \"h:5432\"", 3, "databases.servers: expected an array of servers")]
    [InlineData("[[databases]]\nname = \"d\"\nservers = [\n\"h:5432\"\n]", 4, "databases.servers: expected a table such as")]
    [InlineData("[[databases]]\nname = \"d\"\nservers = [{ port = 5432 }]", 3, "database 'd': a server needs a host")]
    [InlineData("[[databases]]\nname = \"d\"\nservers = [{ host = \"\" }]", 3, "databases.servers.host must not be empty")]
    [InlineData("[[databases]]\nname = \"d\"\nservers = [{ host = \"bad host\" }]", 3, "'bad host' is not a valid host name")]
    [InlineData("[[databases]]\nname = \"d\"\nservers = [{ host = \"300.1.1.1\" }]", 3, "'300.1.1.1' is not an IPv4 address")]
    [InlineData("[[databases]]\nname = \"d\"\nservers = [{ host = \"h\", port = 0 }]", 3, "databases.servers.port must be between 1 and 65535 (got 0)")]
    [InlineData("[[databases]]\nname = \"d\"\nservers = [{ host = \"h\", port = 65536 }]", 3, "databases.servers.port must be between 1 and 65535 (got 65536)")]
    [InlineData("[[databases]]\nname = \"d\"\nservers = [\n{ host = \"h\", port = 5432 },\n{ host = \"H\", port = 5432, role = \"replica\" },\n]", 5, "database 'd' lists server H:5432 twice (first at line 4)")]
    [InlineData("[[databases]]\nname = \"d\"\nservers = [\n{ host = \"a\" },\n{ host = \"b\", role = \"primary\" },\n]", 5, "database 'd' has 2 servers with role = \"primary\" (lines 4, 5)")]
    [InlineData("[[databases]]\nname = \"sluice\"\nservers = [{ host = \"h\" }]", 2, "database 'sluice' has the name of the admin console (server.admin_database)")]
    [InlineData("[server]\nadmin_database = \"shop\"\n[[databases]]\nname = \"shop\"\nservers = [{ host = \"h\" }]", 4, "database 'shop' has the name of the admin console")]
    // Listen addresses
    [InlineData("[server]\nlisten = [\"127.0.0.1\"]", 2, "server.listen: invalid address \"127.0.0.1\": expected host:port")]
    [InlineData("[server]\nlisten = [\n\"127.0.0.1:6432\",\n\"::1:6432\"]", 4, "an IPv6 address needs brackets, e.g. \"[::1]:6432\"")]
    [InlineData("[server]\nlisten = [\"[::1:6432\"]", 2, "expected [ipv6]:port")]
    [InlineData("[server]\nlisten = [\"[127.0.0.1]:6432\"]", 2, "'127.0.0.1' is not an IPv6 address")]
    [InlineData("[server]\nlisten = [\"127.0.0.1:65536\"]", 2, "'65536' is not a port number (0-65535)")]
    [InlineData("[server]\nlisten = [\"127.0.0.1:-1\"]", 2, "is not a port number")]
    [InlineData("[server]\nlisten = [\"127.0.0.1:http\"]", 2, "'http' is not a port number")]
    [InlineData("[server]\nlisten = [\":6432\"]", 2, "the host is empty")]
    [InlineData("[server]\nlisten = [\"1.2.3:6432\"]", 2, "'1.2.3' is not an IPv4 address")]
    [InlineData("[server]\nlisten = []", 2, "server.listen must list at least one address")]
    [InlineData("[server]\nhttp_listen = \"localhost\"", 2, "server.http_listen: invalid address \"localhost\"")]
    // CIDR
    [InlineData("[server]\nallow = [\"10.0.0.0/33\"]", 2, "the prefix length must be a number from 0 to 32")]
    [InlineData("[server]\nallow = [\"10.0.0.1/8\"]", 2, "\"10.0.0.1/8\" has bits set past its /8 prefix; did you mean \"10.0.0.0/8\"?")]
    [InlineData("[server]\nallow = [\"192.168.1.7\"]", 2, "\"192.168.1.7\" has no prefix length; write \"192.168.1.7/32\"")]
    [InlineData("[server]\nallow = [\"fe80::1/10\"]", 2, "did you mean \"fe80::/10\"?")]
    [InlineData("[server]\nallow = [\"everyone\"]", 2, "\"everyone\" is not a CIDR block")]
    [InlineData("[server]\nallow = [\"10.0/8\"]", 2, "\"10.0/8\" is not a CIDR block")]
    // Credentials
    [InlineData("[[users]]\nname = \"u\"", 1, "user 'u' needs a password with auth = \"scram-sha-256\" (or set auth = \"trust\")")]
    [InlineData("[[users]]\nname = \"u\"\nauth = \"md5\"", 3, "user 'u' needs a password with auth = \"md5\"")]
    [InlineData("[[users]]\nname = \"u\"\npassword = \"\"", 3, "user 'u': the password must not be empty")]
    [InlineData("[[users]]\nname = \"u\"\nauth = \"md5\"\npassword = \"" + Verifier + "\"", 4, "user 'u': auth = \"md5\" cannot work with a SCRAM verifier")]
    [InlineData("[[users]]\nname = \"u\"\npassword = \"md5a3556571e93b0d20722ba62be61e8c2d\"", 3, "user 'u': auth = \"scram-sha-256\" cannot work with an md5 hash")]
    [InlineData("[[users]]\nname = \"u\"\npassword = \"SCRAM-SHA-256$4096:...\"", 3, "the password starts like a SCRAM verifier but is not one")]
    [InlineData("[[users]]\nname = \"u\"\nauth = \"md5\"\npassword = \"md5zz556571e93b0d20722ba62be61e8c2d\"", 4, "looks like an md5 hash")]
    [InlineData("[[users]]\nname = \"u\"\npassword = \"pw\"\nserver_password = \"" + Verifier + "\"", 4, "server_password must be the password itself")]
    // TLS
    [InlineData("[tls]\nmode = \"require\"\nkey_file = \"EXISTING\"", 2, "tls.cert_file is required with tls.mode = \"require\"")]
    [InlineData("[tls]\nmode = \"allow\"\ncert_file = \"EXISTING\"\nkey_file = \"\"", 4, "tls.key_file is required with tls.mode = \"allow\"")]
    [InlineData("[tls]\nmode = \"require\"\ncert_file = \"/nonexistent/cert.pem\"\nkey_file = \"EXISTING\"", 3, "tls.cert_file: file not found: /nonexistent/cert.pem")]
    [InlineData("[tls]\nserver_mode = \"verify-full\"\nserver_ca_file = \"/nonexistent/ca.pem\"", 3, "tls.server_ca_file: file not found")]
    public void Each_invalid_setting_is_reported_at_its_line(string toml, int line, string message)
    {
        // EXISTING stands for a file that exists.
        var error = SingleError(toml.Replace("EXISTING", typeof(ConfigLoaderTests).Assembly.Location, StringComparison.Ordinal));

        Assert.Equal(line, error.Line);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void All_errors_are_reported_together_sorted_by_line()
    {
        var errors = Errors("""
            [server]
            listen = ["nowhere"]
            bogus = 1

            [pool]
            size = 0
            mode = "eventually"
            checkout_timeout = "soon"

            [[users]]
            name = "app"

            [[databases]]
            name = "sluice"
            servers = [{ host = "h", port = 99999 }]
            """);

        Assert.Equal([2, 3, 6, 7, 8, 10, 14, 15], errors.Select(error => error.Line));
        Assert.StartsWith("test.toml:2: server.listen: invalid address \"nowhere\"", errors[0].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_exception_message_lists_every_error_as_file_line_message()
    {
        var exception = Assert.Throws<ConfigException>(() => ConfigLoader.Parse("[pool]\nsize = 0\nmin_size = -1", "/etc/sluice/proxy.toml"));

        Assert.Equal(
            "/etc/sluice/proxy.toml:2: pool.size must be at least 1 (got 0)" + Environment.NewLine +
            "/etc/sluice/proxy.toml:3: pool.min_size must not be negative (got -1)",
            exception.Message);
    }

    [Theory]
    [InlineData("", ReadConsistency.Causal, false)]
    [InlineData("read_consistency = \"lag_budget\"", ReadConsistency.LagBudget, false)]
    [InlineData("read_consistency = \"session\"", ReadConsistency.Session, true)]
    [InlineData("read_your_writes = true", ReadConsistency.Session, true)]
    [InlineData("read_your_writes = false", ReadConsistency.Causal, false)]
    [InlineData("read_your_writes = false\nread_consistency = \"causal\"", ReadConsistency.Causal, false)]
    public void Read_your_writes_is_the_older_spelling_of_session_consistency(string keys, ReadConsistency consistency, bool readYourWrites)
    {
        var routing = ConfigLoader.Parse($"[routing]\n{keys}\n{Valid}", File).Routing;

        Assert.Equal(consistency, routing.ReadConsistency);
        Assert.Equal(readYourWrites, routing.ReadYourWrites);
    }

    [Fact]
    public void Read_your_writes_that_contradicts_read_consistency_is_an_error()
    {
        var error = SingleError($"[routing]\nread_consistency = \"causal\"\nread_your_writes = true\n{Valid}");

        Assert.Equal(3, error.Line);
        Assert.Contains("contradicts routing.read_consistency", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_syntax_error_is_one_error_with_its_line()
    {
        var error = SingleError("[server]\nlisten = [\"127.0.0.1:6432\"\n\n[pool]");

        Assert.Equal(4, error.Line);
        Assert.Contains("Missing a `,`", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_user_with_a_wrong_auth_value_gets_one_error_not_two()
    {
        var error = SingleError("[[users]]\nname = \"u\"\nauth = \"kerberos\"");

        Assert.Equal(3, error.Line);
    }

    [Fact]
    public void Valid_credentials_are_accepted()
    {
        var config = ConfigLoader.Parse($$"""
            [[users]]
            name = "scram"
            password = "{{Verifier}}"

            [[users]]
            name = "hashed"
            auth = "md5"
            password = "md5a3556571e93b0d20722ba62be61e8c2d"

            [[users]]
            name = "cleartext"
            auth = "password"
            password = "{{Verifier}}"

            [[users]]
            name = "nobody"
            auth = "trust"
            """, File, out var warnings);

        Assert.Equal(4, config.Users.Length);
        Assert.Empty(warnings);
    }

    [Fact]
    public void Plain_text_passwords_are_warnings_with_their_line()
    {
        var warnings = Warnings(Valid);

        var warning = Assert.Single(warnings);
        Assert.Equal(3, warning.Line);
        Assert.Equal("user 'app' has a plain-text password; use `sluice passwd app` to store a SCRAM verifier", warning.Message);
    }

    [Fact]
    public void A_plain_md5_password_suggests_an_md5_hash()
    {
        var warning = Assert.Single(Warnings("[[users]]\nname = \"old\"\nauth = \"md5\"\npassword = \"pw\""));

        Assert.Equal(4, warning.Line);
        Assert.Contains("store its md5 hash", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_warnings()
    {
        var warnings = Warnings($$"""
            [server]
            admin_users = [
              "admin",
              "ops",
            ]

            [[users]]
            name = "admin"
            password = "{{Verifier}}"

            [[users]]
            name = "guest"
            auth = "trust"
            password = "ignored"

            [[databases]]
            name = "reports"
            servers = [{ host = "replica1", role = "replica" }]
            """);

        Assert.Equal(
            [
                (4, "admin user 'ops' has no [[users]] entry, so it cannot log in to the admin console"),
                (14, "user 'guest': the password is not checked with auth = \"trust\""),
                (18, "database 'reports' has no server with role \"primary\" or \"auto\": writes will fail"),
            ],
            warnings.Select(warning => (warning.Line, warning.Message)));
    }

    [Fact]
    public void Tls_files_are_checked_and_resolved_from_the_config_folder()
    {
        var folder = Directory.CreateTempSubdirectory("sluice-config-");
        try
        {
            System.IO.File.WriteAllText(Path.Combine(folder.FullName, "cert.pem"), "cert");
            System.IO.File.WriteAllText(Path.Combine(folder.FullName, "key.pem"), "key");
            var configPath = Path.Combine(folder.FullName, "proxy.toml");
            System.IO.File.WriteAllText(configPath, "[tls]\nmode = \"require\"\ncert_file = \"cert.pem\"\nkey_file = \"key.pem\"\nserver_mode = \"require\"\nserver_ca_file = \"ca.pem\"");

            var exception = Assert.Throws<ConfigException>(() => ConfigLoader.Load(configPath));
            var error = Assert.Single(exception.Errors);
            Assert.Equal((configPath, 6), (error.File, error.Line));
            Assert.Equal($"tls.server_ca_file: file not found: {Path.Combine(folder.FullName, "ca.pem")}", error.Message);

            System.IO.File.WriteAllText(Path.Combine(folder.FullName, "ca.pem"), "ca");
            var tls = ConfigLoader.Load(configPath).Tls;
            Assert.Equal(TlsMode.Require, tls.Mode);
            Assert.Equal(Path.Combine(folder.FullName, "cert.pem"), tls.CertFile);
            Assert.Equal(Path.Combine(folder.FullName, "key.pem"), tls.KeyFile);
            Assert.Equal(Path.Combine(folder.FullName, "ca.pem"), tls.ServerCaFile);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Listen_on_port_zero_and_on_host_names_is_allowed()
    {
        var config = ConfigLoader.Parse("[server]\nlisten = [\"localhost:0\", \"[::]:6432\", \"0.0.0.0:6432\"]\nhttp_listen = \"my-host.example:9930\"", File);

        Assert.Equal(3, config.Server.Listen.Length);
    }
}
