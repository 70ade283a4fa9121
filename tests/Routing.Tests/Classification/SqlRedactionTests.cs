using Sluice.Routing.Classification;

namespace Sluice.Routing.Tests.Classification;

/// <summary>The slow-statement log's redaction: no literal of any PostgreSQL form reaches a log line.</summary>
public sealed class SqlRedactionTests
{
    /// <summary>A statement, and the secret inside it that must not survive.</summary>
    public static TheoryData<string, string> Secrets => new()
    {
        { "ALTER ROLE app PASSWORD 's3cret'", "s3cret" },
        { "ALTER ROLE app PASSWORD $$s3cret$$", "s3cret" },
        { "ALTER ROLE app PASSWORD $pw$s3cret$pw$", "s3cret" },
        { "ALTER ROLE app PASSWORD $pw$ $$ s3cret $$ $pw$", "s3cret" },
        { "DO $outer$ BEGIN EXECUTE $inner$ SELECT 's3cret' $inner$; END $outer$", "s3cret" },
        { "SELECT 'it''s s3cret'", "s3cret" },
        { "SELECT E'key\\'s3cret'", "s3cret" },
        { "SELECT E'it''s \\\\ s3cret\\\\'", "s3cret" },
        { "SELECT e'\\x41s3cret'", "s3cret" },
        { "SELECT N's3cret'", "s3cret" },
        { "SELECT U&'s3cret\\0041'", "s3cret" },
        { "SELECT U&'!0041s3cret' UESCAPE '!'", "s3cret" },
        { "SELECT B'10110111'", "10110111" },
        { "SELECT X'DEADBEEF'", "DEADBEEF" },
        { "SELECT x'deadbeef'", "deadbeef" },
        { "SELECT 4111111111111111", "4111111111111111" },
        { "SELECT 3.14159e-10", "14159" },
        { "SELECT .271828", "271828" },
        { "SELECT 0x1F2E3D", "1F2E3D" },
        { "SELECT 0b1011011", "1011011" },
        { "SELECT 1_234_567", "234" },
        { "SELECT -98765", "98765" },
        { "SELECT interval 's3cret'", "s3cret" },
        { "SELECT 's3cret'::text", "s3cret" },
        { "SELECT 'abc'\n's3cret'", "s3cret" },
        { "SELECT /* ' */ 's3cret'", "s3cret" },
        { "SELECT -- '\n's3cret'", "s3cret" },
        { "SELECT \"it's\", 's3cret'", "s3cret" },

        // One string with standard_conforming_strings off, two with it on: hidden under both readings.
        { "SELECT 'a\\', 's3cret'", "s3cret" },
        { "SELECT 'a\\' || s3cret || '", "s3cret" },

        // Unterminated: everything after the opening quote is hidden.
        { "SELECT 's3cret", "s3cret" },
        { "SELECT 'it''s s3cret", "s3cret" },
        { "SELECT E's3cret\\'", "s3cret" },
        { "SELECT $$s3cret", "s3cret" },
        { "SELECT $t$s3cret $t", "s3cret" },
        { "SELECT U&'s3cret", "s3cret" },
        { "SELECT B'1011", "1011" },
    };

    [Theory]
    [MemberData(nameof(Secrets))]
    public void No_literal_survives(string sql, string secret)
    {
        var logged = SqlRedaction.RedactLiterals(sql);

        Assert.DoesNotContain(secret, logged, StringComparison.OrdinalIgnoreCase);
        AssertOnlyMarksRemain(logged);
    }

    [Theory]
    [InlineData("ALTER ROLE app PASSWORD $$s3cret$$", "ALTER ROLE app PASSWORD '?'")]
    [InlineData("SELECT 'a', 1, $1 FROM t WHERE x = E'b' AND y = -2.5", "SELECT '?', ?, $1 FROM t WHERE x = '?' AND y = -?")]
    [InlineData("SELECT 'unterminated", "SELECT '?'")]
    [InlineData("UPDATE t SET v = B'01' || X'ff' /* keep me */", "UPDATE t SET v = '?' || '?' /* keep me */")]
    [InlineData("SELECT 'a\\', 'b'", "SELECT '?'")]
    public void Literals_become_marks_and_the_rest_is_kept(string sql, string logged) =>
        Assert.Equal(logged, SqlRedaction.RedactLiterals(sql));

    [Theory]
    [InlineData("SELECT \"Col1\", t2.x FROM \"t'3\" WHERE $1 = $2")]
    [InlineData("BEGIN; COMMIT")]
    [InlineData("")]
    public void A_statement_without_literals_is_logged_as_it_is(string sql) =>
        Assert.Equal(sql, SqlRedaction.RedactLiterals(sql));

    [Fact]
    public void Random_text_never_keeps_a_literal()
    {
        const string Alphabet = "abcEeUuBbXxN&$'\"()[];:,.-/*+=<>!?\\ \n0123456789_é";
        var random = new Random(1_605_2026);
        for (var n = 0; n < 5_000; n++)
        {
            var chars = new char[random.Next(0, 60)];
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = Alphabet[random.Next(Alphabet.Length)];
            }

            AssertOnlyMarksRemain(SqlRedaction.RedactLiterals(new string(chars)));
        }
    }

    /// <summary>Read again under both settings, the logged text holds no number and no string but the mark.</summary>
    private static void AssertOnlyMarksRemain(string logged)
    {
        var tokens = new TokenList();
        foreach (var standardConformingStrings in (bool[])[true, false])
        {
            SqlLexer.Tokenize(logged, tokens, standardConformingStrings);
            for (var i = 0; i < tokens.Count; i++)
            {
                var token = tokens[i];
                Assert.NotEqual(SqlTokenKind.Number, token.Kind);
                if (token.IsStringLiteral)
                {
                    Assert.Equal(SqlRedaction.StringMark, logged.Substring(token.Start, token.Length));
                }
            }
        }
    }
}
