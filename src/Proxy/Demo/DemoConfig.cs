using System.Globalization;
using System.Text;
using Sluice.Proxy.Configuration;

namespace Sluice.Proxy.Demo;

/// <summary>
/// The config `sluice demo` runs with. The proxy gets it as a <see cref="ProxyConfig"/> built here; the same settings are
/// written as proxy.toml next to the data so the user can read (and copy) what the demo runs with.
/// </summary>
internal sealed record DemoConfig(int ListenPort, int HttpPort, int PrimaryPort, int ReplicaPort)
{
    public const string Database = "demo";
    public const string AppUser = "app";
    public const string AppPassword = "app";
    public const string AdminUser = "admin";
    public const string AdminPassword = "admin";

    public string Listen => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{ListenPort}");

    public string HttpListen => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{HttpPort}");

    // Plain passwords: Sluice needs the clear text anyway to log in to PostgreSQL as these users.
    public ProxyConfig ToProxyConfig(string? sourcePath) => new()
    {
        SourcePath = sourcePath,
        Server = new ServerSection { Listen = [Listen], HttpListen = HttpListen, AdminUsers = [AdminUser] },
        Pool = new PoolSection { Mode = PoolMode.Transaction, Size = 20 },
        Users =
        [
            new UserConfig { Name = AppUser, Password = AppPassword, Auth = AuthMethod.ScramSha256 },
            new UserConfig { Name = AdminUser, Password = AdminPassword, Auth = AuthMethod.ScramSha256 },
        ],
        Databases =
        [
            new DatabaseConfig
            {
                Name = Database,
                Servers =
                [
                    new BackendServerConfig { Host = "127.0.0.1", Port = PrimaryPort, Role = ServerRole.Primary },
                    new BackendServerConfig { Host = "127.0.0.1", Port = ReplicaPort, Role = ServerRole.Replica },
                ],
            },
        ],
    };

    public string ToToml() => new StringBuilder()
        .AppendLine("# Written by `sluice demo`; removed when the demo stops.")
        .AppendLine()
        .AppendLine("[server]")
        .AppendLine(CultureInfo.InvariantCulture, $"listen = [\"{Listen}\"]")
        .AppendLine(CultureInfo.InvariantCulture, $"http_listen = \"{HttpListen}\"")
        .AppendLine("admin_database = \"sluice\"")
        .AppendLine(CultureInfo.InvariantCulture, $"admin_users = [\"{AdminUser}\"]")
        .AppendLine()
        .AppendLine("[pool]")
        .AppendLine("mode = \"transaction\"")
        .AppendLine("size = 20")
        .AppendLine()
        .AppendLine("[[users]]")
        .AppendLine(CultureInfo.InvariantCulture, $"name = \"{AppUser}\"")
        .AppendLine(CultureInfo.InvariantCulture, $"password = \"{AppPassword}\"")
        .AppendLine("auth = \"scram-sha-256\"")
        .AppendLine()
        .AppendLine("[[users]]")
        .AppendLine(CultureInfo.InvariantCulture, $"name = \"{AdminUser}\"")
        .AppendLine(CultureInfo.InvariantCulture, $"password = \"{AdminPassword}\"")
        .AppendLine("auth = \"scram-sha-256\"")
        .AppendLine()
        .AppendLine("[[databases]]")
        .AppendLine(CultureInfo.InvariantCulture, $"name = \"{Database}\"")
        .AppendLine("servers = [")
        .AppendLine(CultureInfo.InvariantCulture, $"  {{ host = \"127.0.0.1\", port = {PrimaryPort}, role = \"primary\" }},")
        .AppendLine(CultureInfo.InvariantCulture, $"  {{ host = \"127.0.0.1\", port = {ReplicaPort}, role = \"replica\" }},")
        .AppendLine("]")
        .ToString();
}
