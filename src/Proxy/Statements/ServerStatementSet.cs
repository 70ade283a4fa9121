namespace Sluice.Proxy.Statements;

/// <summary>
/// The statements prepared on one server connection, least recently used first: when it is full, the coldest is
/// closed on the server to make room (prepared_statements_per_server).
/// </summary>
internal sealed class ServerStatementSet
{
    private readonly Dictionary<long, LinkedListNode<PreparedStatement>> _index = [];
    private readonly LinkedList<PreparedStatement> _order = new();

    public int Count => _index.Count;

    public bool Contains(PreparedStatement statement) => _index.ContainsKey(statement.Id);

    /// <summary>Marks a statement as just used.</summary>
    public void Touch(PreparedStatement statement)
    {
        if (_index.TryGetValue(statement.Id, out var node))
        {
            _order.Remove(node);
            _order.AddLast(node);
        }
    }

    /// <summary>Records a statement as prepared; returns the one to close first when over <paramref name="capacity"/>.</summary>
    public PreparedStatement? Add(PreparedStatement statement, int capacity)
    {
        if (_index.ContainsKey(statement.Id))
        {
            Touch(statement);
            return null;
        }

        PreparedStatement? evicted = null;
        if (capacity > 0 && _index.Count >= capacity && _order.First is { } coldest)
        {
            evicted = coldest.Value;
            _order.RemoveFirst();
            _index.Remove(evicted.Id);
        }

        _index[statement.Id] = _order.AddLast(statement);
        return evicted;
    }

    public void Remove(PreparedStatement statement)
    {
        if (_index.Remove(statement.Id, out var node))
        {
            _order.Remove(node);
        }
    }

    public void Clear()
    {
        _index.Clear();
        _order.Clear();
    }
}
