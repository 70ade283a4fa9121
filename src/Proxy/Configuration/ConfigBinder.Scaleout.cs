using System.Collections.Immutable;
using Sluice.Protocol.Authentication;
using Sluice.Proxy.Configuration.Keys;

namespace Sluice.Proxy.Configuration;

/// <summary>The keys of running several instances as one service: [[peers]] and the auth_user look-ups.</summary>
internal sealed partial class ConfigBinder
{
    private ImmutableArray<PeerConfig> BindPeers(IReadOnlyList<ConfigTable> tables, ServerSection server)
    {
        var peers = ImmutableArray.CreateBuilder<PeerConfig>(tables.Count);
        var seen = new Dictionary<int, int>();
        foreach (var table in tables)
        {
            var present = table.TryGet("id", out _);
            var id = table.Int("id", 1, Peering.PeerCancelKeys.MaxPeerId);
            var host = table.String("host", allowEmpty: false);
            if (!present)
            {
                Error(table.Line, "peers entry without an id: add id = N (that instance's [server] peer_id)");
            }

            if (host is null && !table.TryGet("host", out _))
            {
                Error(table.Line, "peers entry without a host: add host = \"...\"");
            }
            else if (host is not null && !ListenAddress.IsValidHost(host, out var reason))
            {
                Error(table.LineOf("host"), $"peers.host: {reason}");
            }

            var peer = ConfigKeys.Peers.Bind(table) with { Id = id ?? 0, Host = host ?? "" };
            table.ReportUnknownKeys();
            if (id is { } given)
            {
                if (!seen.TryAdd(given, table.LineOf("id")))
                {
                    Error(table.LineOf("id"), $"duplicate peer id {given} (first defined at line {seen[given]})");
                }
            }

            peers.Add(peer);
        }

        if (peers.Count > 0 && server.PeerId == 0)
        {
            Warning(tables[0].Line, "[[peers]] are listed but server.peer_id is 0: cancel keys carry no peer id, so no cancel can be forwarded; set peer_id");
        }

        return peers.ToImmutable();
    }

    /// <summary>auth_user must name a [[users]] entry that can log in to PostgreSQL by itself (plain password, or none for trust).</summary>
    private void CheckAuthUser(ConfigTable? serverTable, ServerSection server, ImmutableArray<UserConfig> users)
    {
        if (server.AuthUser.Length > 0 && serverTable is not null)
        {
            CheckAuthUser(serverTable.LineOf("auth_user"), "server.auth_user", server.AuthUser, users);
        }
    }

    private void CheckAuthUser(int line, string where, string name, ImmutableArray<UserConfig> users)
    {
        var user = users.FirstOrDefault(u => u.Name == name);
        if (user is null)
        {
            Error(line, $"{where} '{name}' has no [[users]] entry: its password is needed to run auth_query");
            return;
        }

        var password = user.ServerPassword ?? user.Password;
        if (password is not null && ScramVerifier.LooksLikeVerifier(password))
        {
            Error(line, $"{where} '{name}' has only a SCRAM verifier, which cannot log in to PostgreSQL; give it server_password (its password on PostgreSQL)");
        }
    }
}
