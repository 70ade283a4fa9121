using Sluice.Proxy.Admin;

namespace Sluice.Proxy.Tests.Admin;

/// <summary>The console reads its input with the classifier's lexer: PostgreSQL's rules for strings, comments and statements.</summary>
public sealed class AdminParserTests
{
    private static readonly AdminContext s_context = new("admin", "sluice", new Dictionary<string, string> { ["server_version"] = "15.0" });

    [Theory]
    [InlineData("SELECT 'it''s'", "it's")]
    [InlineData("SELECT E'it\\'s\\n'", "it's\n")]
    [InlineData("SELECT e'\\x41'", "A")]
    [InlineData("SELECT N'national'", "national")]
    [InlineData("SELECT $$a;b$$", "a;b")]
    [InlineData("SELECT $q$ $$ ; $q$", " $$ ; ")]
    [InlineData("SELECT -42", -42)]
    [InlineData("SELECT 9000000000", 9000000000L)]
    [InlineData("SELECT current_setting('server_version')", "15.0")]
    [InlineData("SELECT current_setting(E'server\\_version')", "15.0")]
    public void A_constant_select_answers_the_literal_as_postgresql_reads_it(string sql, object expected)
    {
        var statement = Single(sql);

        Assert.Equal(AdminStatementKind.Select, statement.Kind);
        Assert.Equal(expected, Assert.Single(Assert.Single(statement.Select!.Rows(s_context))));
    }

    [Fact]
    public void Semicolons_in_strings_and_comments_do_not_split_statements()
    {
        var (statements, error) = AdminParser.ParseBatch("SHOW POOLS /* ; */ ; -- ;\nSELECT 'a;b' AS \"X;Y\";; SHOW\fSTATS;");

        Assert.Null(error);
        Assert.Collection(
            statements!,
            pools => Assert.Equal(ShowTopic.Pools, pools.Topic),
            select => Assert.Equal("X;Y", Assert.Single(select.Columns!).Name),
            stats => Assert.Equal(ShowTopic.Stats, stats.Topic));
    }

    [Theory]
    [InlineData("SELECT 1 x", "x")]
    [InlineData("SELECT 1 AS \"Mixed Case\"", "Mixed Case")]
    [InlineData("SELECT version()", "version")]
    [InlineData("SELECT CURRENT_USER", "current_user")]
    public void Select_columns_are_named_as_postgresql_names_them(string sql, string name) =>
        Assert.Equal(name, Assert.Single(Single(sql).Columns!).Name);

    [Fact]
    public void Catalog_probes_return_their_columns_and_no_rows()
    {
        var statement = Single("SELECT n.nspname, t.typname::text AS name FROM pg_catalog.pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace");

        Assert.Equal(["nspname", "name"], statement.Columns!.Select(c => c.Name));
        Assert.Empty(statement.Select!.Rows(s_context));
    }

    [Theory]
    [InlineData("KILL \"My db\"", "My db")]
    [InlineData("KILL 'shop'", "shop")]
    [InlineData("PAUSE Shop", "Shop")]
    public void Database_names_are_read_in_every_spelling(string sql, string database) =>
        Assert.Equal(database, Single(sql).Argument);

    [Theory]
    [InlineData("SELECT 'unterminated", "42601", "unterminated quoted string")]
    [InlineData("SELECT E'unterminated\\'", "42601", "unterminated quoted string")]
    [InlineData("SELECT $$unterminated", "42601", "unterminated dollar-quoted string")]
    [InlineData("SHOW \"pools", "42601", "unterminated quoted identifier")]
    [InlineData("SHOW POOLS /* never closed", "42601", "unterminated /* comment")]
    [InlineData("SHOW POOLS {", "42601", "syntax error at or near \"{\"")]
    [InlineData("SHOW POOLS 'extra'", "42601", "syntax error at or near \"'extra'\"")]
    [InlineData("SELECT U&'d\\0061t'", "0A000", "SELECT is not supported")]
    [InlineData("SELECT X'1F'", "0A000", "SELECT is not supported")]
    [InlineData("SELECT $1", "0A000", "parameters ($1) are not supported")]
    [InlineData("INSERT INTO t VALUES (1)", "0A000", "INSERT is not supported")]
    public void Bad_input_gets_an_error_with_the_right_sqlstate(string sql, string sqlState, string message)
    {
        var (statements, error) = AdminParser.ParseBatch(sql);

        Assert.Null(statements);
        Assert.Equal(sqlState, error!.SqlState);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    private static AdminStatement Single(string sql)
    {
        var (statements, error) = AdminParser.ParseBatch(sql);
        Assert.Null(error);
        return Assert.Single(statements!);
    }
}
