using System.Collections.Concurrent;

namespace Sluice.Proxy.Consistency;

/// <summary>The <see cref="WriteFloor"/> of every database by the name clients connect to; owned by the health monitor.</summary>
internal sealed class WriteFloors
{
    private readonly ConcurrentDictionary<string, WriteFloor> _floors = new(StringComparer.Ordinal);

    /// <summary>The database's floor, made on first use (a database added by a reload starts with no writes).</summary>
    public WriteFloor Of(string database) => _floors.GetOrAdd(database, static _ => new WriteFloor());

    /// <summary>The floor of a database that has one, without making one.</summary>
    public WriteFloor? Find(string database) => _floors.GetValueOrDefault(database);
}
