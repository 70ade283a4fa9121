namespace Sluice.Proxy.Limits;

/// <summary>
/// Counts client connections per name (database or user) against a cap that the caller reads from the config in
/// force, so a reload changes the cap for the next connection and never for those already counted.
/// </summary>
internal sealed class CapCounter
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);

    /// <summary>Counts one more for <paramref name="name"/>; false, counting nothing, when that would exceed <paramref name="max"/> (0 = no cap).</summary>
    public bool TryAdd(string name, int max)
    {
        lock (_lock)
        {
            var count = _counts.GetValueOrDefault(name);
            if (max > 0 && count >= max)
            {
                return false;
            }

            _counts[name] = count + 1;
            return true;
        }
    }

    public void Remove(string name)
    {
        lock (_lock)
        {
            var count = _counts.GetValueOrDefault(name) - 1;
            if (count > 0)
            {
                _counts[name] = count;
            }
            else
            {
                // Names with no connection are forgotten, so the table holds only names in use.
                _counts.Remove(name);
            }
        }
    }

    public int Count(string name)
    {
        lock (_lock)
        {
            return _counts.GetValueOrDefault(name);
        }
    }
}
