using Sluice.Proxy.Configuration;

namespace Sluice.Proxy.Clients;

/// <summary>
/// The rules one client runs under, read from the config at fixed points so that a RELOAD never changes them in the
/// middle of a transaction. Two parts with two lifetimes:
/// <list type="bullet">
/// <item>for the whole session, fixed at login: the pool mode and whether statement names are renamed onto the shared
/// server-side copies (pool.prepared_statements). A client's statement names must mean one thing for as long as it is
/// connected: a flip in the middle would send un-renamed Binds for statements prepared renamed, or the reverse;</item>
/// <item>for one transaction, taken when it starts (its first message after an idle ReadyForQuery): statement_timeout
/// and idle_in_transaction_timeout (with the user's overrides), slow_statement_log and
/// prepared_statements_per_server.</item>
/// </list>
/// Immutable: a reload builds a new one for the next transaction; the sweeper reads whichever is current.
/// </summary>
internal sealed record SessionPolicy
{
    private SessionPolicy(ProxyConfig source, PoolMode mode, bool renamesStatements, UserConfig? user)
    {
        Source = source;
        User = user;
        Mode = mode;
        RenamesStatements = renamesStatements;
        StatementTimeout = user?.StatementTimeout ?? source.Limits.StatementTimeout;
        IdleInTransactionTimeout = user?.IdleInTransactionTimeout ?? source.Limits.IdleInTransactionTimeout;
        SlowStatementLog = source.Limits.SlowStatementLog;
        StatementsPerServer = source.Pool.PreparedStatementsPerServer;
    }

    /// <summary>The config this snapshot was taken from: a new one means a reload happened since.</summary>
    public ProxyConfig Source { get; }

    /// <summary>The user entry the overrides came from (kept when a reload removes it: the client stays logged in).</summary>
    public UserConfig? User { get; }

    /// <summary>Session: the pool mode the client logged in with.</summary>
    public PoolMode Mode { get; }

    /// <summary>Session: transaction and statement modes rename named statements onto the shared server-side copies.</summary>
    public bool RenamesStatements { get; }

    /// <summary>Transaction: cancel a statement that runs longer (zero: never).</summary>
    public TimeSpan StatementTimeout { get; }

    /// <summary>Transaction: close a client idle inside a transaction for longer (zero: never).</summary>
    public TimeSpan IdleInTransactionTimeout { get; }

    /// <summary>Transaction: log statements slower than this (zero: off).</summary>
    public TimeSpan SlowStatementLog { get; }

    /// <summary>Transaction: how many shared statements one server keeps before closing the coldest.</summary>
    public int StatementsPerServer { get; }

    /// <summary>The session's rules at login.</summary>
    public static SessionPolicy AtLogin(ProxyConfig config, PoolMode mode, UserConfig? user) =>
        new(config, mode, mode != PoolMode.Session && config.Pool.PreparedStatements, user);

    /// <summary>
    /// The rules for a transaction that starts now: this one when the config has not been reloaded since, otherwise the
    /// reloaded config's transaction part with this session's part kept.
    /// </summary>
    public SessionPolicy ForNextTransaction(ProxyConfig current, string userName) =>
        ReferenceEquals(current, Source) ? this : new SessionPolicy(current, Mode, RenamesStatements, current.FindUser(userName) ?? User);
}
