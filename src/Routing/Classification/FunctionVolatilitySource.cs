namespace Sluice.Routing.Classification;

/// <summary>Ready-made <see cref="IFunctionVolatilitySource"/>s.</summary>
public static class FunctionVolatilitySource
{
    /// <summary>A source backed by a delegate: (schema or null, function name) → volatility or null.</summary>
    public static IFunctionVolatilitySource FromDelegate(Func<string?, string, FunctionVolatility?> lookup)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        return new DelegateSource(lookup);
    }

    private sealed class DelegateSource(Func<string?, string, FunctionVolatility?> lookup) : IFunctionVolatilitySource
    {
        public FunctionVolatility? GetVolatility(string? schemaName, string functionName) => lookup(schemaName, functionName);
    }
}
