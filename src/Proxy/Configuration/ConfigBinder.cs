using System.Collections.Immutable;
using System.Globalization;
using Sluice.Protocol.Authentication;
using Sluice.Proxy.Configuration.Keys;
using Sluice.Proxy.Configuration.Toml;
using Sluice.Routing.Topology;

namespace Sluice.Proxy.Configuration;

/// <summary>What binding a document produced: a config only when there are no errors.</summary>
internal sealed record ConfigBindResult(ProxyConfig? Config, IReadOnlyList<ConfigError> Errors, IReadOnlyList<ConfigError> Warnings);

/// <summary>
/// Binds a parsed proxy.toml to <see cref="ProxyConfig"/> and validates it as a whole, collecting every error
/// (and every warning) with its line instead of stopping at the first.
/// </summary>
internal sealed partial class ConfigBinder
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
        if (!TomlTree.TryParse(text, fileName, out var document, out var syntaxErrors))
        {
            return new ConfigBindResult(null, syntaxErrors, []);
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
        var serverTable = root.Table("server", "server");
        var server = BindSection(serverTable, ConfigKeys.Server);
        var tls = BindTls(root.Table("tls", "tls"));
        var pool = BindPool(root.Table("pool", "pool"));
        var limits = BindSection(root.Table("limits", "limits"), ConfigKeys.Limits);
        var routing = BindRouting(root.Table("routing", "routing"));
        var users = BindUsers(root.Tables("users", "users"));
        var databases = BindDatabases(root.Tables("databases", "databases"), server, pool, users);
        var peers = BindPeers(root.Tables("peers", "peers"), server);
        root.ReportUnknownKeys();
        CheckAuthUser(serverTable, server, users);

        if (serverTable is not null && !serverTable.IsInvalid("admin_users"))
        {
            var lines = serverTable.ItemLines("admin_users");
            for (var i = 0; i < server.AdminUsers.Length; i++)
            {
                var adminUser = server.AdminUsers[i];
                if (!users.Any(user => user.Name == adminUser))
                {
                    Warning(i < lines.Count ? lines[i] : serverTable.Line, $"admin user '{adminUser}' has no [[users]] entry, so it cannot log in to the admin console");
                }
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
            Peers = peers,
        };
    }

    /// <summary>A section's keys from the key table; every key it does not know is an error.</summary>
    private static TSection BindSection<TSection>(ConfigTable? table, ConfigKeyGroup<TSection> keys)
        where TSection : class
    {
        if (table is null)
        {
            return keys.Blank();
        }

        var section = keys.Bind(table);
        table.ReportUnknownKeys();
        return section;
    }

    private TlsSection BindTls(ConfigTable? table)
    {
        var tls = BindSection(table, ConfigKeys.Tls);
        if (table is null)
        {
            return tls;
        }

        if (tls.Mode != TlsMode.Disable)
        {
            RequireFile(table, "cert_file", tls.CertFile, "mode", ConfigNames.TlsMode.Format(tls.Mode));
            RequireFile(table, "key_file", tls.KeyFile, "mode", ConfigNames.TlsMode.Format(tls.Mode));
        }

        if (tls.ServerMode != ServerTlsMode.Disable && tls.ServerCaFile.Length > 0)
        {
            RequireFile(table, "server_ca_file", tls.ServerCaFile, "server_mode", ConfigNames.ServerTlsMode.Format(tls.ServerMode));
        }

        return tls with
        {
            CertFile = ResolvePath(tls.CertFile),
            KeyFile = ResolvePath(tls.KeyFile),
            ServerCaFile = ResolvePath(tls.ServerCaFile),
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
        var pool = BindSection(table, ConfigKeys.Pool);
        if (table is not null && pool.MinSize > pool.Size)
        {
            Error(table.LineOf("min_size"), $"pool.min_size {pool.MinSize} is larger than pool.size {pool.Size}");
        }

        return pool;
    }

    /// <summary>read_your_writes = true is the older spelling of read_consistency = "session"; both written must agree.</summary>
    private RoutingSection BindRouting(ConfigTable? table)
    {
        var routing = BindSection(table, ConfigKeys.Routing);
        if (table is null || !table.TryGet("read_your_writes", out var readYourWrites) || table.IsInvalid("read_your_writes"))
        {
            return routing with { ReadYourWrites = routing.ReadConsistency == ReadConsistency.Session };
        }

        if (!table.TryGet("read_consistency", out _))
        {
            return routing with { ReadConsistency = routing.ReadYourWrites ? ReadConsistency.Session : routing.ReadConsistency };
        }

        if (!table.IsInvalid("read_consistency") && routing.ReadYourWrites != (routing.ReadConsistency == ReadConsistency.Session))
        {
            Error(readYourWrites.Line, $"routing.read_your_writes = {(routing.ReadYourWrites ? "true" : "false")} contradicts routing.read_consistency = \"{ConfigNames.ReadConsistency.Format(routing.ReadConsistency)}\"; keep only read_consistency");
        }

        return routing;
    }

    private ImmutableArray<UserConfig> BindUsers(IReadOnlyList<ConfigTable> tables)
    {
        var users = ImmutableArray.CreateBuilder<UserConfig>(tables.Count);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var table in tables)
        {
            var name = RequiredName(table, "user", seen);
            var user = ConfigKeys.Users.Bind(table) with { Name = name ?? "" };
            table.ReportUnknownKeys();

            // With an unreadable auth value, what the password should look like is unknown: that error is enough.
            if (!table.IsInvalid("auth"))
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

    private ImmutableArray<DatabaseConfig> BindDatabases(IReadOnlyList<ConfigTable> tables, ServerSection server, PoolSection pool, ImmutableArray<UserConfig> users)
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

            if (name == DatabaseConfig.Wildcard && table.TryGet("backend_database", out _))
            {
                Error(table.LineOf("backend_database"), "the wildcard database (name = \"*\") serves each name as the same database on its servers: it cannot have a backend_database");
            }

            var database = ConfigKeys.Databases.Bind(table) with
            {
                Name = name ?? "",
                Servers = BindServers(table, name ?? "?"),
            };
            table.ReportUnknownKeys();
            if (database.AuthUser is { Length: > 0 } authUser)
            {
                CheckAuthUser(table.LineOf("auth_user"), $"database '{name}': auth_user", authUser, users);
            }

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

        if (array is null || array.Items.Count == 0)
        {
            Error(database.LineOf("servers"), $"database '{databaseName}' has no servers; add servers = [ {{ host = \"127.0.0.1\", port = 5432, role = \"primary\" }} ]");
            return [];
        }

        var servers = ImmutableArray.CreateBuilder<BackendServerConfig>(array.Items.Count);
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var primaryLines = new List<int>();
        foreach (var item in array.Items)
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

            var server = ConfigKeys.Servers.Bind(table) with { Host = host ?? "" };
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
