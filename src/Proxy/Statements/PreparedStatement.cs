using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using Sluice.Protocol.Messages;

namespace Sluice.Proxy.Statements;

/// <summary>
/// One distinct (query text, parameter types), shared by every client that prepares it. On servers it is known by
/// <see cref="ServerName"/>, so many clients' statements "S_1" map onto the one copy a server keeps.
/// </summary>
internal sealed class PreparedStatement
{
    public PreparedStatement(long id, string query, int[] parameterTypes)
    {
        Id = id;
        Query = query;
        ParameterTypes = parameterTypes;
        ServerName = "sluice_" + id.ToString(CultureInfo.InvariantCulture);
        var writer = new ArrayBufferWriter<byte>();
        MessageWriter.WriteParse(writer, ServerName, query, parameterTypes);
        ParseMessage = writer.WrittenSpan.ToArray();
    }

    public long Id { get; }

    public string Query { get; }

    public int[] ParameterTypes { get; }

    public string ServerName { get; }

    /// <summary>The Parse message under the server name, ready to be sent to any server that lacks the statement.</summary>
    public byte[] ParseMessage { get; }

    /// <summary>How the query routes, so a Bind that starts a transaction needs no second look at the text.</summary>
    public Sluice.Routing.Classification.ClassificationResult? Classification { get; set; }

    /// <summary>When a client last prepared this text (the cache's own counter), for the cache's eviction order.</summary>
    internal long LastPrepared;

    private StatementKnowledge? _knowledge;

    /// <summary>What a server said about this statement, if anything; read by any client loop, written by pumps.</summary>
    public StatementKnowledge? Knowledge => Volatile.Read(ref _knowledge);

    /// <summary>A server answered ParseComplete: the text parses in that context. A description learned in the same context and epoch stays.</summary>
    public void NoteParsed(KnowledgeStamp stamp)
    {
        if (Knowledge is { } known && known.Holds(stamp.Context, stamp.Epoch))
        {
            return;
        }

        Volatile.Write(ref _knowledge, new StatementKnowledge(stamp.Context, stamp.Epoch));
    }

    /// <summary>A server described the statement (which implies it parsed there).</summary>
    public void NoteDescribed(KnowledgeStamp stamp, byte[] parameterDescription, byte[] resultDescription) =>
        Volatile.Write(ref _knowledge, new StatementKnowledge(stamp.Context, stamp.Epoch, parameterDescription, resultDescription));

    /// <summary>Nothing learned holds any more: the next Parse of the text goes to a server again.</summary>
    public void ForgetKnowledge() => Volatile.Write(ref _knowledge, null);
}

/// <summary>
/// The proxy-wide statement cache: query text + parameter types → <see cref="PreparedStatement"/>. Bounded: an
/// application that prepares ever-new texts (literals inlined into prepared SQL) would otherwise grow it forever.
/// Dropping an entry is always safe: clients and servers that hold the statement keep using it; the next client to
/// prepare the text gets a new copy under a new server name, and servers' own LRU sets let the old copy age out.
/// </summary>
internal sealed class PreparedStatementCache(int capacity = PreparedStatementCache.DefaultCapacity)
{
    public const int DefaultCapacity = 10_000;

    private readonly ConcurrentDictionary<(string Query, string Types), PreparedStatement> _statements = new();
    private long _nextId;
    private long _clock;
    private int _trimming;

    private long _schemaEpoch;

    public int Count => _statements.Count;

    /// <summary>
    /// Moves on whenever a schema may have changed under the statements (DDL through the proxy committed, a server
    /// reported a stale statement): what servers said about statements before it no longer holds.
    /// </summary>
    public long SchemaEpoch => Volatile.Read(ref _schemaEpoch);

    public void NoteSchemaChange() => Interlocked.Increment(ref _schemaEpoch);

    /// <summary>
    /// The statement for this text when a server already parsed it successfully in <paramref name="context"/> since the
    /// last schema change (a Parse the proxy can answer itself); null otherwise. Counts as a prepare for eviction order.
    /// </summary>
    public PreparedStatement? FindParsed(string query, int[] parameterTypes, string context)
    {
        if (!_statements.TryGetValue(Key(query, parameterTypes), out var statement)
            || statement.Knowledge is not { } known || !known.Holds(context, SchemaEpoch))
        {
            return null;
        }

        Volatile.Write(ref statement.LastPrepared, Interlocked.Increment(ref _clock));
        return statement;
    }

    public int Capacity => capacity;

    public PreparedStatement GetOrAdd(string query, int[] parameterTypes)
    {
        var key = Key(query, parameterTypes);
        if (_statements.TryGetValue(key, out var statement))
        {
            Volatile.Write(ref statement.LastPrepared, Interlocked.Increment(ref _clock));
            return statement;
        }

        statement = _statements.GetOrAdd(key, static (k, state) => new PreparedStatement(Interlocked.Increment(ref state.Cache._nextId), k.Query, state.Types), (Cache: this, Types: parameterTypes));
        Volatile.Write(ref statement.LastPrepared, Interlocked.Increment(ref _clock));
        if (_statements.Count > capacity)
        {
            Trim();
        }

        return statement;
    }

    /// <summary>
    /// The statement for a Parse that goes to a server. One a server parsed before the last schema change is retired
    /// first: the copies servers keep may describe the old shape (PostgreSQL would answer their Describe or Bind with
    /// 0A000), so the text is parsed afresh under a new name and the client gets the new shape at once.
    /// </summary>
    public PreparedStatement GetOrAddCurrent(string query, int[] parameterTypes)
    {
        var statement = GetOrAdd(query, parameterTypes);
        return statement.Knowledge is { } known && known.Epoch != SchemaEpoch ? Retire(statement) : statement;
    }

    /// <summary>
    /// Gives up <paramref name="statement"/>'s server-side copies because they went stale: DDL changed its result
    /// type, and PostgreSQL answers every use of them with 0A000 "cached plan must not change result type". The next
    /// <see cref="GetOrAdd"/> of the same text returns a new statement under a new server name, so every server
    /// prepares it afresh. Clients still holding the old statement keep getting that error until they prepare it again,
    /// as they would from PostgreSQL alone (drivers re-prepare on it). Returns the statement now in the cache.
    /// </summary>
    public PreparedStatement Retire(PreparedStatement statement)
    {
        var key = Key(statement.Query, statement.ParameterTypes);
        var fresh = new PreparedStatement(Interlocked.Increment(ref _nextId), statement.Query, statement.ParameterTypes)
        {
            Classification = statement.Classification,
        };

        // Only the first to see the error replaces it: several servers may report the same stale statement.
        return _statements.TryUpdate(key, fresh, statement) ? fresh : GetOrAdd(statement.Query, statement.ParameterTypes);
    }

    /// <summary>
    /// Drops the least recently prepared tenth (at least down to the capacity), by one caller at a time: a sort per
    /// tenth of growth keeps the cost per new text constant.
    /// </summary>
    private void Trim()
    {
        if (Interlocked.Exchange(ref _trimming, 1) != 0)
        {
            return;
        }

        try
        {
            var entries = _statements.ToArray();
            var excess = entries.Length - capacity + (capacity / 10);
            if (excess <= 0)
            {
                return;
            }

            Array.Sort(entries, static (a, b) => Volatile.Read(ref a.Value.LastPrepared).CompareTo(Volatile.Read(ref b.Value.LastPrepared)));
            foreach (var entry in entries.AsSpan(0, Math.Min(excess, entries.Length)))
            {
                _statements.TryRemove(entry);
            }
        }
        finally
        {
            Volatile.Write(ref _trimming, 0);
        }
    }

    private static (string Query, string Types) Key(string query, int[] parameterTypes) =>
        (query, parameterTypes.Length == 0 ? "" : string.Join(',', parameterTypes));
}
