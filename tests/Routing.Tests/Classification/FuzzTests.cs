using Sluice.Routing.Classification;

namespace Sluice.Routing.Tests.Classification;

/// <summary>Random input must never make the lexer or classifier throw, and results must stay consistent.</summary>
public sealed class FuzzTests
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyzEeUuBbXxN&$'\"()[];:,.-/*+=<>!@#%^|`?~{}\\ \t\n\r0123456789_é表\0\uFFFF\uD800";

    private static readonly string[] Fragments =
    [
        "SELECT", "select", "INSERT", "UPDATE", "DELETE", "MERGE", "FROM", "WHERE", "FOR", "UPDATE", "SHARE", "INTO",
        "WITH", "AS", "(", ")", "((", "))", ",", ";", "'", "''", "\"", "$$", "$t$", "$1", "E'", "U&'", "B'", "X'",
        "/*", "*/", "--", "\n", " ", "::", "int", "numeric(10,2)", "now()", "nextval('s')", "f(", "EXPLAIN",
        "ANALYZE", "COPY", "TO", "STDOUT", "DECLARE", "CURSOR", "HOLD", "BEGIN", "READ", "ONLY", "COMMIT", "SET",
        "sluice.route", "=", "RESET", "ALL", "DISCARD", "LISTEN", "CREATE", "TEMP", "TABLE", "ON", "DROP", "VALUES",
        "/* sluice:replica */", "AS x(a)", "JOIN", "LATERAL", "GROUP BY", "CUBE", "ATOMIC", "END", "CASE", "\\",
        "pg_advisory_lock(1)", "generate_series(1,2) g(i)", "OVER", "FILTER", "ARRAY[", "]", "1.5e", "0x", "EXECUTE",
    ];

    [Fact]
    public void Random_characters_never_throw()
    {
        var random = new Random(20_240_601);
        var classifier = new SqlClassifier();
        var tokens = new TokenList();
        for (var n = 0; n < 20_000; n++)
        {
            var length = random.Next(0, 80);
            var chars = new char[length];
            for (var i = 0; i < length; i++)
            {
                chars[i] = Alphabet[random.Next(Alphabet.Length)];
            }

            var sql = new string(chars);
            SqlLexer.Tokenize(sql, tokens, standardConformingStrings: random.Next(2) == 0);
            AssertTokensCoverTheText(sql, tokens);
            AssertConsistent(sql, classifier.ClassifyUncached(sql));
        }
    }

    [Fact]
    public void Random_sql_fragments_never_throw()
    {
        var random = new Random(4_884_489);
        var classifier = new SqlClassifier();
        for (var n = 0; n < 20_000; n++)
        {
            var count = random.Next(0, 25);
            var parts = new string[count];
            for (var i = 0; i < count; i++)
            {
                parts[i] = Fragments[random.Next(Fragments.Length)];
            }

            var sql = string.Join(random.Next(3) == 0 ? "" : " ", parts);
            AssertConsistent(sql, classifier.ClassifyUncached(sql));
        }
    }

    [Fact]
    public void Deep_nesting_and_long_input_are_handled()
    {
        var classifier = new SqlClassifier();
        var deep = "SELECT " + new string('(', 50_000) + "1" + new string(')', 50_000);
        var explain = string.Concat(Enumerable.Repeat("EXPLAIN ANALYZE ", 10_000)) + "SELECT 1";
        var calls = "SELECT " + string.Concat(Enumerable.Repeat("f(", 20_000)) + new string(')', 20_000);
        var comments = "SELECT " + string.Concat(Enumerable.Repeat("/*", 50_000)) + string.Concat(Enumerable.Repeat("*/", 50_000)) + " 1";

        Assert.Equal(StatementRoute.Read, classifier.Classify(deep).Route);
        Assert.Equal(StatementRoute.Unknown, classifier.Classify(explain).Route);
        Assert.Equal(StatementRoute.Write, classifier.Classify(calls).Route);
        Assert.Equal(StatementRoute.Read, classifier.Classify(comments).Route);
    }

    private static void AssertTokensCoverTheText(string sql, TokenList tokens)
    {
        var position = 0;
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            Check(token.Start >= position, "a token overlaps the previous one", sql);
            Check(token.Length > 0, "an empty token", sql);
            Check(token.End <= sql.Length, "a token runs past the end", sql);
            Check(sql.AsSpan(position, token.Start - position).Trim(" \t\n\r\f\v").IsEmpty, "text skipped between tokens", sql);
            position = token.End;
        }

        Check(sql.AsSpan(position).Trim(" \t\n\r\f\v").IsEmpty, "text skipped at the end", sql);
    }

    private static void Check(bool condition, string problem, string sql)
    {
        if (!condition)
        {
            Assert.Fail($"{problem} in \"{Escape(sql)}\"");
        }
    }

    private static void AssertConsistent(string sql, ClassificationResult result)
    {
        foreach (var statement in result.Statements)
        {
            Assert.InRange(statement.Start, 0, sql.Length);
            Assert.InRange(statement.Start + statement.Length, statement.Start, sql.Length);
            if (statement.Route != StatementRoute.Read)
            {
                Assert.NotEqual(StatementRoute.Read, result.ClassifiedRoute);
            }
        }

        if (result.Statements.Any(s => s.Route == StatementRoute.Unknown))
        {
            Assert.Equal(StatementRoute.Unknown, result.ClassifiedRoute);
        }

        if (result.Hint == RouteHint.None)
        {
            Assert.Equal(result.ClassifiedRoute, result.Route);
        }
    }

    private static string Escape(string sql) => string.Concat(sql.Select(c => c < ' ' || c > '~' ? $"\\u{(int)c:X4}" : c.ToString()));
}
