using System.Globalization;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Routing.Topology;
using static Sluice.Proxy.Admin.AdminColumns;

namespace Sluice.Proxy.Admin;

/// <summary>
/// SHOW CONFIG: every setting in force by its proxy.toml key (section.key; users.NAME.key and databases.NAME.key for
/// the entries, listing only the keys an entry sets), its default and whether RELOAD applies it (listen addresses need
/// a restart). Passwords and server passwords are never printed: a set one shows as ****.
/// </summary>
internal static class ConfigView
{
    public const string Hidden = "****";

    public static readonly ColumnDescription[] Columns = [Text("key"), Text("value"), Text("default"), Text("changeable")];

    private static readonly ProxyConfig s_defaults = new();

    public static List<object?[]> Rows(ProxyConfig config)
    {
        var rows = new List<object?[]>();
        void Add(string key, Func<ProxyConfig, string?> value, bool changeable = true) =>
            rows.Add([key, value(config), value(s_defaults), changeable ? "yes" : "no"]);

        Add("server.listen", c => List(c.Server.Listen), changeable: false);
        Add("server.http_listen", c => c.Server.HttpListen, changeable: false);
        Add("server.max_client_connections", c => Number(c.Server.MaxClientConnections));
        Add("server.admin_database", c => c.Server.AdminDatabase);
        Add("server.admin_users", c => List(c.Server.AdminUsers));
        Add("server.shutdown_timeout", c => ConfigDuration.Format(c.Server.ShutdownTimeout));
        Add("server.allow", c => List(c.Server.Allow));

        Add("tls.mode", c => ConfigNames.TlsMode.Format(c.Tls.Mode));
        Add("tls.cert_file", c => c.Tls.CertFile);
        Add("tls.key_file", c => c.Tls.KeyFile);
        Add("tls.server_mode", c => ConfigNames.ServerTlsMode.Format(c.Tls.ServerMode));
        Add("tls.server_ca_file", c => c.Tls.ServerCaFile);

        Add("pool.mode", c => ConfigNames.PoolMode.Format(c.Pool.Mode));
        Add("pool.size", c => Number(c.Pool.Size));
        Add("pool.min_size", c => Number(c.Pool.MinSize));
        Add("pool.checkout_timeout", c => ConfigDuration.Format(c.Pool.CheckoutTimeout));
        Add("pool.server_idle_timeout", c => ConfigDuration.Format(c.Pool.ServerIdleTimeout));
        Add("pool.server_lifetime", c => ConfigDuration.Format(c.Pool.ServerLifetime));
        Add("pool.server_connect_timeout", c => ConfigDuration.Format(c.Pool.ServerConnectTimeout));
        Add("pool.reset_query", c => c.Pool.ResetQuery);
        Add("pool.prepared_statements", c => Bool(c.Pool.PreparedStatements));
        Add("pool.prepared_statements_per_server", c => Number(c.Pool.PreparedStatementsPerServer));

        Add("limits.statement_timeout", c => ConfigDuration.Format(c.Limits.StatementTimeout));
        Add("limits.idle_in_transaction_timeout", c => ConfigDuration.Format(c.Limits.IdleInTransactionTimeout));
        Add("limits.client_idle_timeout", c => ConfigDuration.Format(c.Limits.ClientIdleTimeout));
        Add("limits.client_login_timeout", c => ConfigDuration.Format(c.Limits.ClientLoginTimeout));
        Add("limits.slow_statement_log", c => ConfigDuration.Format(c.Limits.SlowStatementLog));
        Add("limits.max_user_client_connections", c => Number(c.Limits.MaxUserClientConnections));

        Add("routing.read_write_split", c => Bool(c.Routing.ReadWriteSplit));
        Add("routing.max_replica_lag", c => ConfigDuration.Format(c.Routing.MaxReplicaLag));
        Add("routing.lag_check_interval", c => ConfigDuration.Format(c.Routing.LagCheckInterval));
        Add("routing.health_check_interval", c => ConfigDuration.Format(c.Routing.HealthCheckInterval));
        Add("routing.ban_time", c => ConfigDuration.Format(c.Routing.BanTime));
        Add("routing.load_balancing", c => ConfigNames.LoadBalancing.Format(c.Routing.LoadBalancing));
        Add("routing.read_your_writes", c => Bool(c.Routing.ReadConsistency == ReadConsistency.Session));
        Add("routing.read_consistency", c => ConfigNames.ReadConsistency.Format(c.Routing.ReadConsistency));
        Add("routing.max_read_wait", c => ConfigDuration.Format(c.Routing.MaxReadWait));

        foreach (var user in config.Users)
        {
            var prefix = $"users.{user.Name}.";
            Entry(rows, prefix + "password", user.Password is null ? null : Hidden);
            Entry(rows, prefix + "auth", ConfigNames.AuthMethod.Format(user.Auth));
            Entry(rows, prefix + "max_client_connections", user.MaxClientConnections is { } max ? Number(max) : null);
            Entry(rows, prefix + "statement_timeout", user.StatementTimeout is { } statement ? ConfigDuration.Format(statement) : null);
            Entry(rows, prefix + "idle_in_transaction_timeout", user.IdleInTransactionTimeout is { } idle ? ConfigDuration.Format(idle) : null);
            Entry(rows, prefix + "pool_mode", user.PoolMode is { } mode ? ConfigNames.PoolMode.Format(mode) : null);
            Entry(rows, prefix + "pool_size", user.PoolSize is { } size ? Number(size) : null);
            Entry(rows, prefix + "server_user", user.ServerUser);
            Entry(rows, prefix + "server_password", user.ServerPassword is null ? null : Hidden);
        }

        foreach (var database in config.Databases)
        {
            var prefix = $"databases.{database.Name}.";
            Entry(rows, prefix + "backend_database", database.BackendDatabase);
            Entry(rows, prefix + "pool_size", database.PoolSize is { } size ? Number(size) : null);
            Entry(rows, prefix + "min_pool_size", database.MinPoolSize is { } min ? Number(min) : null);
            Entry(rows, prefix + "pool_mode", database.PoolMode is { } mode ? ConfigNames.PoolMode.Format(mode) : null);
            Entry(rows, prefix + "servers", string.Join(", ", database.Servers.Select(s => $"{s.Name} {ConfigNames.ServerRole.Format(s.Role)}")));
        }

        return rows;
    }

    /// <summary>A [[users]] or [[databases]] key; those left out of the entry are not listed.</summary>
    private static void Entry(List<object?[]> rows, string key, string? value)
    {
        if (value is not null)
        {
            rows.Add([key, value, null, "yes"]);
        }
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Bool(bool value) => value ? "true" : "false";

    private static string List(IEnumerable<string> values) => string.Join(", ", values);
}
