using Sluice.Routing.Classification;

namespace Sluice.Routing.Tests.Classification;

/// <summary>Shared helpers: classification without the cache and the exception safety net, so bugs surface.</summary>
internal static class Classifier
{
    private static readonly SqlClassifier Shared = new();

    public static ClassificationResult Classify(string sql) => Shared.ClassifyUncached(sql);

    public static void AssertRoute(StatementRoute expected, string sql)
    {
        var result = Classify(sql);
        Assert.True(result.Route == expected,
            $"Expected {expected} but got {result.Route} for: {sql}\nReason: {result.Reason}\nStatements: {string.Join("; ", result.Statements)}");
    }

    public static StatementInfo Single(string sql)
    {
        var result = Classify(sql);
        Assert.True(result.Statements.Count == 1, $"Expected one statement, got {result.Statements.Count} for: {sql}");
        return result.Statements[0];
    }
}
