namespace Sluice.Proxy.Observability;

/// <summary>Why a client connection was refused; the <c>reason</c> label of <c>sluice_rejected_connections_total</c>.</summary>
public enum RejectionReason
{
    /// <summary><c>server.max_client_connections</c> reached.</summary>
    MaxClientConnections,

    /// <summary>The user's <c>max_client_connections</c> (or <c>limits.max_user_client_connections</c>) reached.</summary>
    MaxUserClientConnections,

    /// <summary>Wrong password, unknown user, or an auth method the client could not complete.</summary>
    AuthFailed,

    /// <summary>The startup packet named a database the config does not have.</summary>
    UnknownDatabase,

    /// <summary>The client address is outside <c>server.allow</c>.</summary>
    Allowlist,

    /// <summary>The client did not log in within <c>limits.client_login_timeout</c>.</summary>
    LoginTimeout,

    /// <summary>The client sent something that is not the PostgreSQL protocol.</summary>
    ProtocolViolation,

    /// <summary>The proxy is draining (SIGTERM / SHUTDOWN) and accepts no new clients.</summary>
    Draining,

    /// <summary>The database's <c>max_client_connections</c> reached.</summary>
    DatabaseCap,

    /// <summary>Over <c>[limits] connection_rate</c> (per address) or the user's <c>connection_rate</c> for longer than <c>connection_rate_wait</c>.</summary>
    ConnectionRate,
}
