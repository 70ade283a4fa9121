using Sluice.Routing.Classification;

namespace Sluice.Routing.Tests.Classification;

public sealed class MultiStatementTests
{
    [Theory]
    [InlineData("SELECT 1; SELECT 2", StatementRoute.Read, 2)]
    [InlineData("SELECT 1; SELECT 2;", StatementRoute.Read, 2)]
    [InlineData("SELECT 1;;; SELECT 2", StatementRoute.Read, 2)]
    [InlineData("SHOW a; SELECT 1; VALUES (2); TABLE t", StatementRoute.Read, 4)]
    [InlineData("SET search_path = a; SELECT * FROM t", StatementRoute.Read, 2)]
    [InlineData("SELECT 1; INSERT INTO t VALUES (1)", StatementRoute.Write, 2)]
    [InlineData("INSERT INTO t VALUES (1); SELECT 1", StatementRoute.Write, 2)]
    [InlineData("SELECT 1; SELECT nextval('s'); SELECT 2", StatementRoute.Write, 3)]
    [InlineData("SELECT 1; SELECT 1 FOR UPDATE", StatementRoute.Write, 2)]
    [InlineData("SELECT 1; FOO", StatementRoute.Unknown, 2)]
    [InlineData("INSERT INTO t VALUES (1); FOO", StatementRoute.Unknown, 2)]
    [InlineData("FOO; INSERT INTO t VALUES (1)", StatementRoute.Unknown, 2)]
    [InlineData("SELECT ';'; SELECT 2", StatementRoute.Read, 2)]
    [InlineData("SELECT $$;$$; SELECT 2", StatementRoute.Read, 2)]
    [InlineData("SELECT 1 /* ; DELETE FROM t */", StatementRoute.Read, 1)]
    [InlineData("SELECT 1 -- ; DELETE FROM t", StatementRoute.Read, 1)]
    [InlineData("SELECT 1 -- comment\n; DELETE FROM t", StatementRoute.Write, 2)]
    [InlineData("SELECT \"a;b\" FROM t; SELECT 2", StatementRoute.Read, 2)]
    [InlineData("SELECT E'\\';' ; SELECT 2", StatementRoute.Read, 2)]
    public void A_text_is_a_read_only_when_every_statement_is(string sql, StatementRoute route, int statements)
    {
        var result = Classifier.Classify(sql);

        Assert.Equal(route, result.Route);
        Assert.Equal(statements, result.Statements.Count);
    }

    [Fact]
    public void Statements_know_where_they_are_in_the_text()
    {
        const string Sql = "/* hint */ SELECT 1 ;  INSERT INTO t VALUES (1);";
        var result = Classifier.Classify(Sql);

        Assert.Equal("SELECT 1", Sql.Substring(result.Statements[0].Start, result.Statements[0].Length));
        Assert.Equal("INSERT INTO t VALUES (1)", Sql.Substring(result.Statements[1].Start, result.Statements[1].Length));
        Assert.Equal(StatementRoute.Read, result.Statements[0].Route);
        Assert.Equal(StatementRoute.Write, result.Statements[1].Route);
    }

    [Fact]
    public void The_reason_is_the_first_non_read_statement()
    {
        var result = Classifier.Classify("SELECT 1; SELECT nextval('s'); DELETE FROM t");

        Assert.Contains("nextval", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Semicolons_inside_parentheses_do_not_split()
    {
        var result = Classifier.Classify("SELECT (1; 2)");

        Assert.Single(result.Statements);
        Assert.Equal(StatementRoute.Unknown, result.Route);
    }

    [Fact]
    public void A_lexical_error_makes_only_its_statement_unknown()
    {
        var result = Classifier.Classify("SELECT 1; SELECT 'open");

        Assert.Equal(StatementRoute.Read, result.Statements[0].Route);
        Assert.Equal(StatementRoute.Unknown, result.Statements[1].Route);
        Assert.Equal(StatementRoute.Unknown, result.Route);
    }
}
