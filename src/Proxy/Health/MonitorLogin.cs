using Npgsql;
using Sluice.Protocol.Authentication;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Pooling;
using Sluice.Proxy.Servers;

namespace Sluice.Proxy.Health;

/// <summary>
/// Who the monitor logs in as. proxy.toml has no monitor credentials of its own: the monitor uses the first
/// [[users]] entry (in file order, admin console users skipped) whose login towards this server
/// (<see cref="PoolRegistry.LoginTarget"/>: server_user/server_password, else its own password) has a plain-text
/// password; when none has, the first user with no password at all (for servers that trust it). A user whose only
/// password is a SCRAM verifier or an md5 hash cannot be used (Npgsql needs the password itself).
/// </summary>
internal static class MonitorLogin
{
    public static ServerLoginTarget? Choose(ProxyConfig config, DatabaseConfig database, BackendServerConfig server)
    {
        ServerLoginTarget? passwordless = null;
        foreach (var user in config.Users)
        {
            if (config.Server.AdminUsers.Contains(user.Name))
            {
                continue;
            }

            var target = PoolRegistry.LoginTarget(database, user, server);
            if (target.Password is not { } password)
            {
                if (user.Password is null)
                {
                    passwordless ??= target;
                }
            }
            else if (!Md5Password.LooksLikeHash(password) && !ScramVerifier.LooksLikeVerifier(password))
            {
                return target;
            }
        }

        return passwordless;
    }

    /// <summary>An Npgsql connection string for the monitor's own, unpooled connection to one server.</summary>
    public static string ConnectionString(ServerLoginTarget target, TlsSection tls, TimeSpan timeout)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = target.Host,
            Port = target.Port,
            Database = target.Database,
            Username = target.User,
            Password = target.Password,
            ApplicationName = "sluice-monitor",
            Pooling = false,
            Timeout = Seconds(timeout),
            CommandTimeout = Seconds(timeout),

            // On a timed-out check, drop the connection at once instead of waiting for a cancel to be answered.
            CancellationTimeout = -1,

            SslMode = tls.ServerMode switch
            {
                ServerTlsMode.Prefer => SslMode.Prefer,
                ServerTlsMode.Require => SslMode.Require,
                ServerTlsMode.VerifyFull => SslMode.VerifyFull,
                _ => SslMode.Disable,
            },
        };
        if (tls.ServerCaFile.Length > 0)
        {
            builder.RootCertificate = tls.ServerCaFile;
        }

        return builder.ConnectionString;
    }

    private static int Seconds(TimeSpan timeout) => Math.Clamp((int)Math.Ceiling(timeout.TotalSeconds), 1, 1024);
}
