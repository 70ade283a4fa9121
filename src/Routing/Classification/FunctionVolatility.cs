namespace Sluice.Routing.Classification;

/// <summary>A function's volatility as in <c>pg_proc.provolatile</c> ('i', 's', 'v').</summary>
public enum FunctionVolatility
{
    /// <summary>Immutable: safe on a replica.</summary>
    Immutable,

    /// <summary>Stable: cannot modify the database; safe on a replica.</summary>
    Stable,

    /// <summary>Volatile: may write; goes to the primary.</summary>
    Volatile,
}

/// <summary>
/// Answers the volatility of functions the built-in lists do not know (user functions, extensions), for example
/// from <c>pg_proc</c>. Called on the classifier's slow path only (results are cached per statement text; call
/// <see cref="SqlClassifier.ClearCache"/> when the answers change). Must be thread-safe and fast; must not block.
/// </summary>
public interface IFunctionVolatilitySource
{
    /// <summary>
    /// The volatility of <paramref name="functionName"/>, or null when unknown (then the call goes to the primary).
    /// With overloads, answer the least safe one. Names arrive as PostgreSQL sees them: unquoted names folded to lower
    /// case, quoted names as written.
    /// </summary>
    /// <param name="schemaName">The schema when the call was qualified (<c>s.f()</c>), else null.</param>
    /// <param name="functionName">The function name.</param>
    FunctionVolatility? GetVolatility(string? schemaName, string functionName);
}
