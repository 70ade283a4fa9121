using Sluice.Routing.Classification;

namespace Sluice.Routing.Tests.Classification;

public sealed class HintTests
{
    [Theory]
    [InlineData("/* sluice:primary */ SELECT 1", RouteHint.Primary, StatementRoute.Write, StatementRoute.Read)]
    [InlineData("/*sluice:primary*/SELECT 1", RouteHint.Primary, StatementRoute.Write, StatementRoute.Read)]
    [InlineData("/* SLUICE:PRIMARY */ select 1", RouteHint.Primary, StatementRoute.Write, StatementRoute.Read)]
    [InlineData("\n\t  /* sluice:primary */\nSELECT 1", RouteHint.Primary, StatementRoute.Write, StatementRoute.Read)]
    [InlineData("/* sluice:replica */ SELECT 1", RouteHint.Replica, StatementRoute.Read, StatementRoute.Read)]
    [InlineData("/* sluice:replica */ INSERT INTO t VALUES (1)", RouteHint.Replica, StatementRoute.Read, StatementRoute.Write)]
    [InlineData("/* sluice:replica */ SELECT nextval('s')", RouteHint.Replica, StatementRoute.Read, StatementRoute.Write)]
    [InlineData("  /*  Sluice:Replica  */ SELECT * FROM t FOR UPDATE", RouteHint.Replica, StatementRoute.Read, StatementRoute.Write)]
    [InlineData("/* sluice:replica */ SELECT 1; SELECT 2", RouteHint.Replica, StatementRoute.Read, StatementRoute.Read)]
    [InlineData("/* app:checkout */ /* sluice:replica */ SELECT 1", RouteHint.Replica, StatementRoute.Read, StatementRoute.Read)]
    [InlineData("-- note\n/* sluice:primary */ SELECT 1", RouteHint.Primary, StatementRoute.Write, StatementRoute.Read)]
    [InlineData("/* sluice:replica */ /* sluice:primary */ SELECT 1", RouteHint.Primary, StatementRoute.Write, StatementRoute.Read)]
    [InlineData("/* sluice:primary */ /* sluice:replica */ SELECT 1", RouteHint.Primary, StatementRoute.Write, StatementRoute.Read)]
    public void A_leading_hint_forces_the_route(string sql, RouteHint hint, StatementRoute route, StatementRoute classified)
    {
        var result = Classifier.Classify(sql);

        Assert.Equal(hint, result.Hint);
        Assert.Equal(route, result.Route);
        Assert.Equal(classified, result.ClassifiedRoute);
    }

    [Theory]
    [InlineData("SELECT /* sluice:replica */ nextval('s')")]
    [InlineData("INSERT INTO t VALUES (1) /* sluice:replica */")]
    [InlineData("SELECT 1; /* sluice:replica */ INSERT INTO t VALUES (1)")]
    [InlineData("-- sluice:replica\nINSERT INTO t VALUES (1)")]
    [InlineData("/* sluice:replica please */ INSERT INTO t VALUES (1)")]
    [InlineData("/* sluice: replica */ INSERT INTO t VALUES (1)")]
    [InlineData("/* sluice:standby */ INSERT INTO t VALUES (1)")]
    [InlineData("/* sluice:replica INSERT INTO t VALUES (1)")]
    [InlineData("'/* sluice:replica */' INSERT INTO t VALUES (1)")]
    public void Hints_elsewhere_or_misspelt_are_ignored(string sql)
    {
        var result = Classifier.Classify(sql);

        Assert.Equal(RouteHint.None, result.Hint);
        Assert.NotEqual(StatementRoute.Read, result.Route);
    }

    [Fact]
    public void A_hint_survives_the_cache_per_text()
    {
        var classifier = new SqlClassifier();

        Assert.Equal(StatementRoute.Read, classifier.Classify("/* sluice:replica */ INSERT INTO t VALUES (1)").Route);
        Assert.Equal(StatementRoute.Write, classifier.Classify("INSERT INTO t VALUES (1)").Route);
        Assert.Equal(StatementRoute.Read, classifier.Classify("/* sluice:replica */ INSERT INTO t VALUES (1)").Route);
    }

    [Fact]
    public void A_hinted_statement_keeps_its_statement_facts()
    {
        var result = Classifier.Classify("/* sluice:primary */ BEGIN READ ONLY");

        Assert.True(result.IsBegin);
        Assert.True(result.BeginReadOnly);
        Assert.Equal(StatementRoute.Write, result.Route);
        Assert.True(result.Statements[0].Start > 0);
    }
}
