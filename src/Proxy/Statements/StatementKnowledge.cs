namespace Sluice.Proxy.Statements;

/// <summary>
/// What a server told the proxy about a shared statement: that its Parse succeeded, and (once a client described it)
/// the ParameterDescription and RowDescription / NoData it answered, as whole frames. With it the proxy answers a later
/// client's Parse and Describe of the same text itself, with no server lent (a thread of pgbench that prepares while its
/// other connections hold every server would otherwise wait for one). Immutable: swapped whole on the statement.
/// <para>
/// It holds only for the <see cref="Context"/> it was learned in (database, user, search_path: what a name in the text
/// resolves against) and for one <see cref="Epoch"/> of <see cref="PreparedStatementCache.SchemaEpoch"/>, which DDL
/// through the proxy and any server's "cached plan must not change result type" move on.
/// </para>
/// </summary>
internal sealed class StatementKnowledge(string context, long epoch, byte[]? parameterDescription = null, byte[]? resultDescription = null)
{
    public string Context { get; } = context;

    public long Epoch { get; } = epoch;

    /// <summary>The server's ParameterDescription frame for a Describe of the statement; null until one was described.</summary>
    public byte[]? ParameterDescription { get; } = parameterDescription;

    /// <summary>The server's RowDescription (or NoData) frame that followed it.</summary>
    public byte[]? ResultDescription { get; } = resultDescription;

    public bool IsDescribed => ParameterDescription is not null && ResultDescription is not null;

    public bool Holds(string context, long epoch) => Epoch == epoch && string.Equals(Context, context, StringComparison.Ordinal);
}

/// <summary>Where a Parse or Describe was sent from: what its reply, once it comes, may be learned as.</summary>
internal readonly record struct KnowledgeStamp(string Context, long Epoch);

/// <summary>What a text's names resolve against: one string per (database, user, search_path), compared by value.</summary>
internal static class StatementContext
{
    public static string Of(string database, string user, string? searchPath) => string.Concat(database, "\0", user, "\0", searchPath);
}
