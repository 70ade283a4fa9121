using Sluice.Protocol.Authentication;
using Sluice.Proxy.AuthQuery;
using Sluice.Proxy.Configuration;

namespace Sluice.Proxy.Clients;

/// <summary>Login of users that are not in proxy.toml: looked up with auth_query, logged in to PostgreSQL with SCRAM keys.</summary>
internal sealed partial class ClientSession
{
    private AuthQueryException? _lookupError;

    /// <summary>
    /// The user from auth_query, when the database has look-ups on; null otherwise or when PostgreSQL has no such user
    /// (the exchange that follows then fails like a wrong password). A failed look-up is kept in <see cref="_lookupError"/>.
    /// </summary>
    private async Task<UserConfig?> LookUpUserAsync(ProxyConfig config, CancellationToken cancellationToken)
    {
        // The admin console's users are in the file only.
        if (_databaseName == config.Server.AdminDatabase || _userName.Length == 0 || config.FindDatabase(_databaseName) is not { } database)
        {
            return null;
        }

        try
        {
            return await _runtime.UserLookup.FindAsync(config, database, _userName, cancellationToken);
        }
        catch (AuthQueryException ex)
        {
            _lookupError = ex;
            return null;
        }
    }

    /// <summary>Checks the client's password; a looked-up SCRAM user keeps the keys that log it in to PostgreSQL.</summary>
    private async Task<bool> AuthenticateAsync(CancellationToken cancellationToken)
    {
        var (succeeded, clientKey) = await ClientAuthenticator.AuthenticateWithKeysAsync(_client, _userName, _user, _runtime.Credentials, _tls?.ChannelBinding, cancellationToken);
        if (succeeded && _user is { LookedUp: true } user && clientKey is not null && _runtime.Credentials.GetScramVerifier(user) is { } verifier
            && ScramVerifier.LooksLikeVerifier(user.Password!))
        {
            _user = user with { ServerScramKeys = new ScramKeys(verifier, clientKey) };
        }

        return succeeded;
    }
}
