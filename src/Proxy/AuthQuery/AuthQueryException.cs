namespace Sluice.Proxy.AuthQuery;

/// <summary>
/// A user could not be looked up: PostgreSQL was unreachable (08006) or refused the auth_user or its query (28000).
/// Says nothing about whether the user exists: the client is refused the same way for any name.
/// </summary>
internal sealed class AuthQueryException(string sqlState, string message, Exception? inner = null) : Exception(message, inner)
{
    public string SqlState { get; } = sqlState;

    public static AuthQueryException Unreachable(string detail, Exception? inner = null) =>
        new(Protocol.Messages.SqlState.ConnectionFailure, "could not look up the user in PostgreSQL (auth_query): " + detail, inner);

    public static AuthQueryException Refused(string detail) =>
        new(Protocol.Messages.SqlState.InvalidAuthorizationSpecification, "could not look up the user in PostgreSQL (auth_query): " + detail);
}
