namespace Sluice.Routing.Classification;

/// <summary>Settings of a <see cref="SqlClassifier"/>.</summary>
public sealed record SqlClassifierOptions
{
    /// <summary>How many statement texts the result cache holds before it starts over; 0 turns the cache off.</summary>
    public int CacheCapacity { get; init; } = 10_000;

    /// <summary>Longer texts are classified every time and not cached (they are rarely repeated: bulk inserts, generated IN lists).</summary>
    public int MaxCachedTextLength { get; init; } = 16 * 1024;

    /// <summary>The cache also starts over when its texts hold more characters than this (bounds its memory).</summary>
    public long MaxCachedCharacters { get; init; } = 8 * 1024 * 1024;

    /// <summary>
    /// The server's standard_conforming_strings (on by default since PostgreSQL 9.1). When off, backslashes escape
    /// quotes in plain '...' strings, which changes where strings and statements end.
    /// </summary>
    public bool StandardConformingStrings { get; init; } = true;

    /// <summary>Volatility of functions the built-in lists do not know (e.g. filled from pg_proc); null: they go to the primary.</summary>
    public IFunctionVolatilitySource? FunctionVolatility { get; init; }
}
