using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Sluice.Protocol.Authentication;
using Sluice.Proxy.Configuration.Toml;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.Configuration;

/// <summary>What binding a document produced: a config only when there are no errors.</summary>
internal sealed record ConfigBindResult(ProxyConfig? Config, IReadOnlyList<ConfigError> Errors, IReadOnlyList<ConfigError> Warnings);

/// <summary>
/// Binds a parsed proxy.toml to <see cref="ProxyConfig"/> and validates it as a whole, collecting every error
/// (and every warning) with its line instead of stopping at the first.
/// </summary>
internal sealed class ConfigBinder
{
    private readonly string _file;
    private readonly string _baseDirectory;
    private readonly List<ConfigError> _errors = [];
    private readonly List<ConfigError> _warnings = [];

    private ConfigBinder(string file)
    {
        _file = file;
        _baseDirectory = BaseDirectoryOf(file);
    }

    public static ConfigBindResult Bind(string text, string fileName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);
        if (!TomlParser.TryParse(text, out var document, out var syntaxError))
        {
            return new ConfigBindResult(null, [new ConfigError(fileName, syntaxError.Line, syntaxError.Message)], []);
        }

        var binder = new ConfigBinder(fileName);
        var config = binder.BindDocument(document) with { SourcePath = fileName };
        var errors = binder._errors.OrderBy(error => error.Line).ToList();
        var warnings = binder._warnings.OrderBy(warning => warning.Line).ToList();
        return new ConfigBindResult(errors.Count == 0 ? config : null, errors, warnings);
    }

    public void Error(int line, string message) => _errors.Add(new ConfigError(_file, line, message));

    public void Warning(int line, string message) => _warnings.Add(new ConfigError(_file, line, message));

    private ProxyConfig BindDocument(TomlTable document)
    {
        var root = new ConfigTable(this, document, "", "the top level");
        var (server, adminUsers) = BindServer(root.Table("server", "server"));
        var tls = BindTls(root.Table("tls", "tls"));
        var pool = BindPool(root.Table("pool", "pool"));
        var limits = BindLimits(root.Table("limits", "limits"));
        var routing = BindRouting(root.Table("routing", "routing"));
        var users = BindUsers(root.Tables("users", "users"));
        var databases = BindDatabases(root.Tables("databases", "databases"), server, pool);
        root.ReportUnknownKeys();

        foreach (var adminUser in adminUsers)
        {
            if (!users.Any(user => user.Name == adminUser.Value))
            {
                Warning(adminUser.Line, $"admin user '{adminUser.Value}' has no [[users]] entry, so it cannot log in to the admin console");
            }
        }

        return new ProxyConfig
        {
            Server = server,
            Tls = tls,
            Pool = pool,
            Limits = limits,
            Routing = routing,
            Users = users,
            Databases = databases,
        };
    }

    private (ServerSection Server, ImmutableArray<TomlString> AdminUsers) BindServer(ConfigTable? table)
    {
        var defaults = new ServerSection();
        if (table is null)
        {
            return (defaults, []);
        }

        var listen = table.StringArray("listen");
        if (listen is { IsEmpty: true })
        {
            Error(table.LineOf("listen"), "server.listen must list at least one address, e.g. [\"127.0.0.1:6432\"]");
        }

        foreach (var address in listen ?? [])
        {
            if (!ListenAddress.TryParse(address.Value, out _, out var reason))
            {
                Error(address.Line, $"server.listen: invalid address \"{address.Value}\": {reason}");
            }
        }

        var httpListen = table.String("http_listen");
        if (!string.IsNullOrEmpty(httpListen) && !ListenAddress.TryParse(httpListen, out _, out var httpReason))
        {
            Error(table.LineOf("http_listen"), $"server.http_listen: invalid address \"{httpListen}\": {httpReason} (or \"\" for no HTTP listener)");
        }

        var maxClientConnections = table.Int("max_client_connections", 1);
        var adminDatabase = table.String("admin_database", allowEmpty: false);
        var adminUsers = table.StringArray("admin_users");
        var shutdownTimeout = table.Duration("shutdown_timeout");
        var allow = table.StringArray("allow");
        foreach (var block in allow ?? [])
        {
            if (!IsValidCidr(block.Value, out var reason))
            {
                Error(block.Line, $"server.allow: {reason}");
            }
        }

        table.ReportUnknownKeys();
        var server = new ServerSection
        {
            Listen = listen is { } l ? [.. l.Select(value => value.Value)] : defaults.Listen,
            HttpListen = httpListen ?? defaults.HttpListen,
            MaxClientConnections = maxClientConnections ?? defaults.MaxClientConnections,
            AdminDatabase = adminDatabase ?? defaults.AdminDatabase,
            AdminUsers = adminUsers is { } a ? [.. a.Select(value => value.Value)] : defaults.AdminUsers,
            ShutdownTimeout = shutdownTimeout ?? defaults.ShutdownTimeout,
            Allow = allow is { } blocks ? [.. blocks.Select(value => value.Value)] : defaults.Allow,
        };
        return (server, adminUsers ?? []);
    }

    private TlsSection BindTls(ConfigTable? table)
    {
        var defaults = new TlsSection();
        if (table is null)
        {
            return defaults;
        }

        var mode = table.Enum("mode", ConfigNames.TlsMode) ?? defaults.Mode;
        var certFile = table.String("cert_file") ?? defaults.CertFile;
        var keyFile = table.String("key_file") ?? defaults.KeyFile;
        var serverMode = table.Enum("server_mode", ConfigNames.ServerTlsMode) ?? defaults.ServerMode;
        var serverCaFile = table.String("server_ca_file") ?? defaults.ServerCaFile;
        table.ReportUnknownKeys();

        if (mode != TlsMode.Disable)
        {
            RequireFile(table, "cert_file", certFile, "mode", ConfigNames.TlsMode.Format(mode));
            RequireFile(table, "key_file", keyFile, "mode", ConfigNames.TlsMode.Format(mode));
        }

        if (serverMode != ServerTlsMode.Disable && serverCaFile.Length > 0)
        {
            RequireFile(table, "server_ca_file", serverCaFile, "server_mode", ConfigNames.ServerTlsMode.Format(serverMode));
        }

        return new TlsSection
        {
            Mode = mode,
            CertFile = ResolvePath(certFile),
            KeyFile = ResolvePath(keyFile),
            ServerMode = serverMode,
            ServerCaFile = ResolvePath(serverCaFile),
        };
    }

    /// <summary>A file the TLS setup will open: it must be named and exist (relative paths are from the config's folder).</summary>
    private void RequireFile(ConfigTable table, string key, string path, string modeKey, string modeText)
    {
        if (path.Length == 0)
        {
            // Point at the empty key when it is written, else at the mode that needs it.
            var line = table.TryGet(key, out var entry) ? entry.Line : table.LineOf(modeKey);
            Error(line, $"tls.{key} is required with tls.{modeKey} = \"{modeText}\"");
        }
        else if (!File.Exists(ResolvePath(path)))
        {
            Error(table.LineOf(key), $"tls.{key}: file not found: {ResolvePath(path)}");
        }
    }

    private PoolSection BindPool(ConfigTable? table)
    {
        var defaults = new PoolSection();
        if (table is null)
        {
            return defaults;
        }

        var pool = new PoolSection
        {
            Mode = table.Enum("mode", ConfigNames.PoolMode) ?? defaults.Mode,
            Size = table.Int("size", 1) ?? defaults.Size,
            MinSize = table.Int("min_size", 0) ?? defaults.MinSize,
            CheckoutTimeout = table.Duration("checkout_timeout") ?? defaults.CheckoutTimeout,
            ServerIdleTimeout = table.Duration("server_idle_timeout") ?? defaults.ServerIdleTimeout,
            ServerLifetime = table.Duration("server_lifetime") ?? defaults.ServerLifetime,
            ResetQuery = table.String("reset_query") ?? defaults.ResetQuery,
            PreparedStatements = table.Bool("prepared_statements") ?? defaults.PreparedStatements,
            PreparedStatementsPerServer = table.Int("prepared_statements_per_server", 1) ?? defaults.PreparedStatementsPerServer,
            ServerConnectTimeout = table.Duration("server_connect_timeout") ?? defaults.ServerConnectTimeout,
        };
        table.ReportUnknownKeys();
        if (pool.MinSize > pool.Size)
        {
            Error(table.LineOf("min_size"), $"pool.min_size {pool.MinSize} is larger than pool.size {pool.Size}");
        }

        return pool;
    }

    private static LimitsSection BindLimits(ConfigTable? table)
    {
        var defaults = new LimitsSection();
        if (table is null)
        {
            return defaults;
        }

        var limits = new LimitsSection
        {
            StatementTimeout = table.Duration("statement_timeout") ?? defaults.StatementTimeout,
            IdleInTransactionTimeout = table.Duration("idle_in_transaction_timeout") ?? defaults.IdleInTransactionTimeout,
            ClientIdleTimeout = table.Duration("client_idle_timeout") ?? defaults.ClientIdleTimeout,
            ClientLoginTimeout = table.Duration("client_login_timeout") ?? defaults.ClientLoginTimeout,
            SlowStatementLog = table.Duration("slow_statement_log") ?? defaults.SlowStatementLog,
            MaxUserClientConnections = table.Int("max_user_client_connections", 0) ?? defaults.MaxUserClientConnections,
        };
        table.ReportUnknownKeys();
        return limits;
    }

    private RoutingSection BindRouting(ConfigTable? table)
    {
        var defaults = new RoutingSection();
        if (table is null)
        {
            return defaults;
        }

        var routing = new RoutingSection
        {
            ReadWriteSplit = table.Bool("read_write_split") ?? defaults.ReadWriteSplit,
            MaxReplicaLag = table.Duration("max_replica_lag") ?? defaults.MaxReplicaLag,
            LagCheckInterval = table.Duration("lag_check_interval", allowZero: false) ?? defaults.LagCheckInterval,
            HealthCheckInterval = table.Duration("health_check_interval", allowZero: false) ?? defaults.HealthCheckInterval,
            BanTime = table.Duration("ban_time") ?? defaults.BanTime,
            LoadBalancing = table.Enum("load_balancing", ConfigNames.LoadBalancing) ?? defaults.LoadBalancing,
            ReadConsistency = table.Enum("read_consistency", ConfigNames.ReadConsistency) ?? defaults.ReadConsistency,
            MaxReadWait = table.Duration("max_read_wait") ?? defaults.MaxReadWait,
        };

        // read_your_writes = true, the older spelling, means "session"; false changes nothing (the contract's example
        // carries it, and copying that must not switch causal reads off).
        if (table.Bool("read_your_writes") == true)
        {
            if (table.TryGet("read_consistency", out var explicitly) && routing.ReadConsistency != ReadConsistency.Session)
            {
                Error(explicitly.Line, "routing.read_your_writes = true contradicts routing.read_consistency; keep only read_consistency");
            }

            routing = routing with { ReadConsistency = ReadConsistency.Session };
        }

        table.ReportUnknownKeys();
        return routing;
    }

    private ImmutableArray<UserConfig> BindUsers(IReadOnlyList<ConfigTable> tables)
    {
        var users = ImmutableArray.CreateBuilder<UserConfig>(tables.Count);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var table in tables)
        {
            var name = RequiredName(table, "user", seen);
            var password = table.String("password");
            var auth = table.Enum("auth", ConfigNames.AuthMethod);
            var user = new UserConfig
            {
                Name = name ?? "",
                Password = password,
                Auth = auth ?? AuthMethod.ScramSha256,
                MaxClientConnections = table.Int("max_client_connections", 0),
                StatementTimeout = table.Duration("statement_timeout"),
                IdleInTransactionTimeout = table.Duration("idle_in_transaction_timeout"),
                PoolMode = table.Enum("pool_mode", ConfigNames.PoolMode),
                PoolSize = table.Int("pool_size", 1),
                ServerUser = table.String("server_user", allowEmpty: false),
                ServerPassword = table.String("server_password"),
            };
            table.ReportUnknownKeys();

            // With an unreadable auth value, what the password should look like is unknown: that error is enough.
            var authInvalid = auth is null && table.TryGet("auth", out _);
            if (!authInvalid)
            {
                CheckCredentials(table, user);
            }

            users.Add(user);
        }

        return users.ToImmutable();
    }

    private void CheckCredentials(ConfigTable table, UserConfig user)
    {
        var authText = ConfigNames.AuthMethod.Format(user.Auth);
        var who = user.Name.Length > 0 ? $"user '{user.Name}'" : "user";
        if (user.Auth == AuthMethod.Trust)
        {
            if (user.Password is not null)
            {
                Warning(table.LineOf("password"), $"{who}: the password is not checked with auth = \"trust\"");
            }
        }
        else if (user.Password is null)
        {
            Error(table.LineOf("auth"), $"{who} needs a password with auth = \"{authText}\" (or set auth = \"trust\")");
        }
        else if (user.Password.Length == 0)
        {
            Error(table.LineOf("password"), $"{who}: the password must not be empty");
        }
        else
        {
            var line = table.LineOf("password");
            switch (ClassifyPassword(user.Password))
            {
                case PasswordForm.MalformedVerifier:
                    Error(line, $"{who}: the password starts like a SCRAM verifier but is not one (expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, as printed by `sluice passwd {user.Name}`)");
                    break;
                case PasswordForm.MalformedMd5:
                    Error(line, $"{who}: the password looks like an md5 hash (\"md5\" and 32 more characters) but is not one (expected 32 hexadecimal digits after \"md5\")");
                    break;
                case PasswordForm.ScramVerifier when user.Auth == AuthMethod.Md5:
                    Error(line, $"{who}: auth = \"md5\" cannot work with a SCRAM verifier (md5 needs the plain password or its md5 hash); use auth = \"scram-sha-256\"");
                    break;
                case PasswordForm.Md5Hash when user.Auth == AuthMethod.ScramSha256:
                    Error(line, $"{who}: auth = \"scram-sha-256\" cannot work with an md5 hash (SCRAM needs the plain password or a SCRAM verifier); use auth = \"md5\" or a verifier from `sluice passwd {user.Name}`");
                    break;
                case PasswordForm.Plain when user.Auth == AuthMethod.Md5:
                    Warning(line, $"{who} has a plain-text password; store its md5 hash instead (\"md5\" + md5(password + user name), as PostgreSQL's pg_authid has it)");
                    break;
                case PasswordForm.Plain:
                    Warning(line, $"{who} has a plain-text password; use `sluice passwd {user.Name}` to store a SCRAM verifier");
                    break;
            }
        }

        if (user.ServerPassword is not null && ScramVerifier.LooksLikeVerifier(user.ServerPassword))
        {
            Error(table.LineOf("server_password"), $"{who}: server_password must be the password itself (or an md5 hash): a SCRAM verifier cannot log in to PostgreSQL");
        }
    }

    private ImmutableArray<DatabaseConfig> BindDatabases(IReadOnlyList<ConfigTable> tables, ServerSection server, PoolSection pool)
    {
        var databases = ImmutableArray.CreateBuilder<DatabaseConfig>(tables.Count);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var table in tables)
        {
            var name = RequiredName(table, "database", seen);
            if (name is not null && name == server.AdminDatabase)
            {
                Error(table.LineOf("name"), $"database '{name}' has the name of the admin console (server.admin_database); clients could never reach it: rename one of them");
            }

            var database = new DatabaseConfig
            {
                Name = name ?? "",
                BackendDatabase = table.String("backend_database", allowEmpty: false),
                PoolSize = table.Int("pool_size", 1),
                MinPoolSize = table.Int("min_pool_size", 0),
                PoolMode = table.Enum("pool_mode", ConfigNames.PoolMode),
                Servers = BindServers(table, name ?? "?"),
            };
            table.ReportUnknownKeys();

            var minSize = database.MinPoolSize ?? pool.MinSize;
            var size = database.PoolSize ?? pool.Size;
            if (minSize > size)
            {
                var key = table.TryGet("min_pool_size", out _) ? "min_pool_size" : "pool_size";
                Error(table.LineOf(key), $"database '{name}': min_pool_size {minSize}{(database.MinPoolSize is null ? " (from pool.min_size)" : "")} is larger than pool_size {size}{(database.PoolSize is null ? " (from pool.size)" : "")}");
            }

            databases.Add(database);
        }

        return databases.ToImmutable();
    }

    private ImmutableArray<BackendServerConfig> BindServers(ConfigTable database, string databaseName)
    {
        var present = database.TryGet("servers", out _);
        var array = database.Array("servers", "an array of servers such as [ { host = \"127.0.0.1\", port = 5432, role = \"primary\" } ]");
        if (array is null && present)
        {
            return [];
        }

        if (array is null || array.Count == 0)
        {
            Error(database.LineOf("servers"), $"database '{databaseName}' has no servers; add servers = [ {{ host = \"127.0.0.1\", port = 5432, role = \"primary\" }} ]");
            return [];
        }

        var servers = ImmutableArray.CreateBuilder<BackendServerConfig>(array.Count);
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var primaryLines = new List<int>();
        foreach (var item in array)
        {
            if (item is not TomlTable serverTable)
            {
                Error(item.Line, $"databases.servers: expected a table such as {{ host = \"127.0.0.1\", port = 5432, role = \"primary\" }}, got {item.KindName}");
                continue;
            }

            var table = new ConfigTable(this, serverTable, "databases.servers", "a databases.servers entry");
            var host = table.String("host", allowEmpty: false);
            if (host is null && !table.TryGet("host", out _))
            {
                Error(table.Line, $"database '{databaseName}': a server needs a host");
            }
            else if (host is not null && !ListenAddress.IsValidHost(host, out var reason))
            {
                Error(table.LineOf("host"), $"databases.servers.host: {reason}");
            }

            var server = new BackendServerConfig
            {
                Host = host ?? "",
                Port = table.Int("port", 1, 65535) ?? 5432,
                Role = table.Enum("role", ConfigNames.ServerRole) ?? ServerRole.Primary,
            };
            table.ReportUnknownKeys();

            if (host is not null)
            {
                if (seen.TryGetValue(server.Name, out var firstLine))
                {
                    Error(table.Line, $"database '{databaseName}' lists server {server.Name} twice (first at line {firstLine})");
                }
                else
                {
                    seen.Add(server.Name, table.Line);
                }
            }

            if (server.Role == ServerRole.Primary)
            {
                primaryLines.Add(table.Line);
            }

            servers.Add(server);
        }

        if (primaryLines.Count > 1)
        {
            Error(primaryLines[1], $"database '{databaseName}' has {primaryLines.Count} servers with role = \"primary\" (lines {string.Join(", ", primaryLines)}); at most one can be; use \"auto\" to let Sluice find the primary");
        }

        if (servers.Count > 0 && !servers.Any(server => server.Role is ServerRole.Primary or ServerRole.Auto))
        {
            Warning(database.LineOf("servers"), $"database '{databaseName}' has no server with role \"primary\" or \"auto\": writes will fail");
        }

        return servers.ToImmutable();
    }

    /// <summary>The required, unique, non-empty name of a [[users]] or [[databases]] entry.</summary>
    private string? RequiredName(ConfigTable table, string what, Dictionary<string, int> seen)
    {
        var present = table.TryGet("name", out _);
        var name = table.String("name", allowEmpty: false);
        if (!present)
        {
            Error(table.Line, $"{table.Where} entry without a name: add name = \"...\"");
            return null;
        }

        if (name is null)
        {
            return null;
        }

        var line = table.LineOf("name");
        if (seen.TryGetValue(name, out var firstLine))
        {
            Error(line, $"duplicate {what} '{name}' (first defined at line {firstLine})");
        }
        else
        {
            seen.Add(name, line);
        }

        return name;
    }

    private enum PasswordForm
    {
        Plain,
        ScramVerifier,
        MalformedVerifier,
        Md5Hash,
        MalformedMd5,
    }

    private static PasswordForm ClassifyPassword(string password)
    {
        if (ScramVerifier.LooksLikeVerifier(password))
        {
            return IsWellFormedVerifier(password) ? PasswordForm.ScramVerifier : PasswordForm.MalformedVerifier;
        }

        if (Md5Password.LooksLikeHash(password))
        {
            return password.AsSpan(3).ContainsAnyExcept("0123456789abcdefABCDEF") ? PasswordForm.MalformedMd5 : PasswordForm.Md5Hash;
        }

        return PasswordForm.Plain;
    }

    /// <summary>"SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey", base64 parts, 32-byte keys (PostgreSQL's format).</summary>
    private static bool IsWellFormedVerifier(string text)
    {
        var parts = text["SCRAM-SHA-256$".Length..].Split('$');
        if (parts.Length != 2)
        {
            return false;
        }

        var head = parts[0].Split(':');
        var keys = parts[1].Split(':');
        Span<byte> buffer = stackalloc byte[64];
        return head.Length == 2 && keys.Length == 2
            && int.TryParse(head[0], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) && iterations > 0
            && head[1].Length > 0 && Convert.TryFromBase64String(head[1], buffer, out _)
            && Convert.TryFromBase64String(keys[0], buffer, out var storedKeyLength) && storedKeyLength == 32
            && Convert.TryFromBase64String(keys[1], buffer, out var serverKeyLength) && serverKeyLength == 32;
    }

    private static bool IsValidCidr(string text, out string? reason)
    {
        // IPAddress.TryParse (and so IPNetwork) takes shorthand such as "10.1" for 10.0.0.1: not what anyone means here.
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text : text[..slash];
        if (!IPAddress.TryParse(addressText, out var address) || (address.AddressFamily == AddressFamily.InterNetwork && addressText.Count(c => c == '.') != 3))
        {
            reason = $"\"{text}\" is not a CIDR block such as \"10.0.0.0/8\" or \"::1/128\"";
            return false;
        }

        var bits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (slash < 0)
        {
            reason = $"\"{text}\" has no prefix length; write \"{text}/{bits}\" for this one address";
            return false;
        }

        if (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var prefix) || prefix > bits)
        {
            reason = $"\"{text}\": the prefix length must be a number from 0 to {bits}";
            return false;
        }

        // Bits set past the prefix ("10.0.0.1/8") are ambiguous: one host, or the whole block? Say which block it is.
        var bytes = address.GetAddressBytes();
        var masked = (byte[])bytes.Clone();
        for (var i = 0; i < masked.Length; i++)
        {
            var keep = Math.Clamp(prefix - (i * 8), 0, 8);
            masked[i] &= (byte)(0xFF << (8 - keep));
        }

        if (!bytes.AsSpan().SequenceEqual(masked))
        {
            reason = $"\"{text}\" has bits set past its /{prefix} prefix; did you mean \"{new IPAddress(masked)}/{prefix}\"?";
            return false;
        }

        if (!IPNetwork.TryParse(text, out _))
        {
            reason = $"\"{text}\" is not a CIDR block such as \"10.0.0.0/8\" or \"::1/128\"";
            return false;
        }

        reason = null;
        return true;
    }

    private string ResolvePath(string path) => path.Length == 0 ? path : Path.GetFullPath(path, _baseDirectory);

    private static string BaseDirectoryOf(string file)
    {
        try
        {
            return Path.GetDirectoryName(Path.GetFullPath(file)) ?? Environment.CurrentDirectory;
        }
        catch (ArgumentException)
        {
            return Environment.CurrentDirectory;
        }
    }
}
