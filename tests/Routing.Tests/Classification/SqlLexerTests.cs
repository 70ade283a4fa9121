using Sluice.Routing.Classification;

namespace Sluice.Routing.Tests.Classification;

public sealed class SqlLexerTests
{
    public static TheoryData<string, string> SingleTokens => new()
    {
        { "select", nameof(SqlTokenKind.Identifier) },
        { "SELECT", nameof(SqlTokenKind.Identifier) },
        { "_private", nameof(SqlTokenKind.Identifier) },
        { "a$b", nameof(SqlTokenKind.Identifier) },
        { "naïve", nameof(SqlTokenKind.Identifier) },
        { "表", nameof(SqlTokenKind.Identifier) },
        { "e", nameof(SqlTokenKind.Identifier) },
        { "u", nameof(SqlTokenKind.Identifier) },
        { "\"Quoted Name\"", nameof(SqlTokenKind.QuotedIdentifier) },
        { "\"with \"\" quote\"", nameof(SqlTokenKind.QuotedIdentifier) },
        { "U&\"d\\0061t\"", nameof(SqlTokenKind.QuotedIdentifier) },
        { "'text'", nameof(SqlTokenKind.String) },
        { "'it''s'", nameof(SqlTokenKind.String) },
        { "''", nameof(SqlTokenKind.String) },
        { "'back\\slash'", nameof(SqlTokenKind.String) },
        { "N'national'", nameof(SqlTokenKind.String) },
        { "E'esc\\'aped'", nameof(SqlTokenKind.EscapeString) },
        { "e'\\n'", nameof(SqlTokenKind.EscapeString) },
        { "E'it''s'", nameof(SqlTokenKind.EscapeString) },
        { "U&'d\\0061t'", nameof(SqlTokenKind.UnicodeString) },
        { "u&'x'", nameof(SqlTokenKind.UnicodeString) },
        { "$$body$$", nameof(SqlTokenKind.DollarString) },
        { "$$$$", nameof(SqlTokenKind.DollarString) },
        { "$tag$ $$ inner $$ $tag$", nameof(SqlTokenKind.DollarString) },
        { "$_t1$x$_t1$", nameof(SqlTokenKind.DollarString) },
        { "B'0101'", nameof(SqlTokenKind.BitString) },
        { "b'1'", nameof(SqlTokenKind.BitString) },
        { "X'1F'", nameof(SqlTokenKind.HexString) },
        { "x'ff'", nameof(SqlTokenKind.HexString) },
        { "42", nameof(SqlTokenKind.Number) },
        { "3.14", nameof(SqlTokenKind.Number) },
        { ".5", nameof(SqlTokenKind.Number) },
        { "5.", nameof(SqlTokenKind.Number) },
        { "1e10", nameof(SqlTokenKind.Number) },
        { "1.5E-3", nameof(SqlTokenKind.Number) },
        { "0x1F", nameof(SqlTokenKind.Number) },
        { "0o17", nameof(SqlTokenKind.Number) },
        { "0b101", nameof(SqlTokenKind.Number) },
        { "1_000_000", nameof(SqlTokenKind.Number) },
        { "$1", nameof(SqlTokenKind.Parameter) },
        { "$12", nameof(SqlTokenKind.Parameter) },
        { "=", nameof(SqlTokenKind.Operator) },
        { "<>", nameof(SqlTokenKind.Operator) },
        { "||", nameof(SqlTokenKind.Operator) },
        { "->>", nameof(SqlTokenKind.Operator) },
        { "@>", nameof(SqlTokenKind.Operator) },
        { "!~*", nameof(SqlTokenKind.Operator) },
        { ":=", nameof(SqlTokenKind.Operator) },
        { "::", nameof(SqlTokenKind.Typecast) },
        { "(", nameof(SqlTokenKind.LeftParen) },
        { ")", nameof(SqlTokenKind.RightParen) },
        { "[", nameof(SqlTokenKind.LeftBracket) },
        { "]", nameof(SqlTokenKind.RightBracket) },
        { ",", nameof(SqlTokenKind.Comma) },
        { ";", nameof(SqlTokenKind.Semicolon) },
        { ":", nameof(SqlTokenKind.Colon) },
        { ".", nameof(SqlTokenKind.Dot) },
        { "-- comment", nameof(SqlTokenKind.LineComment) },
        { "--", nameof(SqlTokenKind.LineComment) },
        { "/* comment */", nameof(SqlTokenKind.BlockComment) },
        { "/* outer /* inner */ still outer */", nameof(SqlTokenKind.BlockComment) },
        { "/**/", nameof(SqlTokenKind.BlockComment) },
        { "{", nameof(SqlTokenKind.Invalid) },
        { "\\", nameof(SqlTokenKind.Invalid) },
        { "$", nameof(SqlTokenKind.Invalid) },
    };

    [Theory]
    [MemberData(nameof(SingleTokens))]
    public void Each_token_type_is_recognised(string text, string kind)
    {
        var tokens = Lex(text);

        var token = Assert.Single(tokens);
        Assert.Equal(Enum.Parse<SqlTokenKind>(kind), token.Kind);
        Assert.Equal(0, token.Start);
        Assert.Equal(text.Length, token.Length);
        Assert.False(token.IsUnterminated);
    }

    [Theory]
    [InlineData("'open", nameof(SqlTokenKind.String))]
    [InlineData("'it''s", nameof(SqlTokenKind.String))]
    [InlineData("E'open\\'", nameof(SqlTokenKind.EscapeString))]
    [InlineData("U&'open", nameof(SqlTokenKind.UnicodeString))]
    [InlineData("B'01", nameof(SqlTokenKind.BitString))]
    [InlineData("X'01", nameof(SqlTokenKind.HexString))]
    [InlineData("\"open", nameof(SqlTokenKind.QuotedIdentifier))]
    [InlineData("$$open", nameof(SqlTokenKind.DollarString))]
    [InlineData("$a$open$b$", nameof(SqlTokenKind.DollarString))]
    [InlineData("/* open", nameof(SqlTokenKind.BlockComment))]
    [InlineData("/* a /* b */", nameof(SqlTokenKind.BlockComment))]
    public void Unterminated_tokens_run_to_the_end(string text, string kind)
    {
        var token = Assert.Single(Lex(text));
        Assert.Equal(Enum.Parse<SqlTokenKind>(kind), token.Kind);
        Assert.True(token.IsUnterminated);
        Assert.Equal(text.Length, token.Length);
    }

    [Fact]
    public void Whitespace_of_every_kind_separates_tokens()
    {
        var tokens = Lex("a \t\n\r\f\vb");
        Assert.Equal([SqlTokenKind.Identifier, SqlTokenKind.Identifier], tokens.Select(t => t.Kind));
        Assert.Equal(7, tokens[1].Start);
    }

    [Fact]
    public void A_line_comment_ends_at_the_newline()
    {
        var tokens = Lex("SELECT -- note\n1");
        Assert.Equal([SqlTokenKind.Identifier, SqlTokenKind.LineComment, SqlTokenKind.Number], tokens.Select(t => t.Kind));
        Assert.Equal("-- note", Text("SELECT -- note\n1", tokens[1]));
    }

    [Theory]
    [InlineData("a=-1", new[] { "a", "=", "-", "1" })]
    [InlineData("a<>b", new[] { "a", "<>", "b" })]
    [InlineData("a@-1", new[] { "a", "@-", "1" })]
    [InlineData("a+-b", new[] { "a", "+", "-", "b" })]
    [InlineData("a*/*c*/b", new[] { "a", "*", "/*c*/", "b" })]
    [InlineData("a+--c\nb", new[] { "a", "+", "--c", "b" })]
    [InlineData("a::int", new[] { "a", "::", "int" })]
    [InlineData("a[1:2]", new[] { "a", "[", "1", ":", "2", "]" })]
    [InlineData("f(a := 1, b => 2)", new[] { "f", "(", "a", ":=", "1", ",", "b", "=>", "2", ")" })]
    [InlineData("t.col", new[] { "t", ".", "col" })]
    [InlineData("1.5.x", new[] { "1.5", ".", "x" })]
    [InlineData("E'a' e", new[] { "E'a'", "e" })]
    [InlineData("xE'a'", new[] { "xE", "'a'" })]
    [InlineData("u&b", new[] { "u", "&", "b" })]
    [InlineData("$1$2", new[] { "$1", "$2" })]
    [InlineData("a$$b$$", new[] { "a$$b$$" })]
    [InlineData("'a''b''c'd", new[] { "'a''b''c'", "d" })]
    [InlineData("$a$x$a$$b$y$b$", new[] { "$a$x$a$", "$b$y$b$" })]
    public void Token_boundaries_follow_postgres(string text, string[] expected) =>
        Assert.Equal(expected, Lex(text).Select(t => Text(text, t)));

    [Fact]
    public void Parentheses_carry_their_nesting_depth()
    {
        const string Sql = "f((a), b)";
        var tokens = Lex(Sql);
        var parens = tokens.Where(t => t.Kind is SqlTokenKind.LeftParen or SqlTokenKind.RightParen).Select(t => t.Depth);

        Assert.Equal([0, 1, 1, 0], parens);
        Assert.Equal(1, tokens.Single(t => Text(Sql, t) == "b").Depth);
    }

    [Fact]
    public void An_unmatched_closing_parenthesis_has_negative_depth()
    {
        var tokens = Lex("a) b");
        Assert.Equal(-1, tokens[1].Depth);
        Assert.Equal(-1, tokens[2].Depth);
    }

    [Theory]
    [InlineData("SeLeCt", "select")]
    [InlineData("\"SeLeCt\"", "SeLeCt")]
    [InlineData("\"a\"\"b\"", "a\"b")]
    [InlineData("ÀB", "Àb")]
    public void Names_are_folded_like_postgres(string text, string expected)
    {
        var token = Assert.Single(Lex(text));
        Assert.Equal(expected, TokenText.Name(text, token));
    }

    [Theory]
    [InlineData("'it''s'", "it's")]
    [InlineData("E'it\\'s'", "it's")]
    [InlineData("E'a\\nb\\tc\\\\'", "a\nb\tc\\")]
    [InlineData("E'\\x41\\101\\u0042'", "AAB")]
    [InlineData("$$ x $$", " x ")]
    [InlineData("$t$ y $t$", " y ")]
    [InlineData("N'n'", "n")]
    [InlineData("'back\\slash'", "back\\slash")]
    public void String_values_are_decoded(string text, string expected)
    {
        var token = Assert.Single(Lex(text));
        Assert.Equal(expected, TokenText.StringValue(text, token, standardConformingStrings: true));
    }

    [Fact]
    public void Without_standard_conforming_strings_backslash_escapes_in_plain_strings()
    {
        const string Sql = "'a\\'b'";
        var tokens = new TokenList();
        SqlLexer.Tokenize(Sql, tokens, standardConformingStrings: false);

        Assert.Equal(1, tokens.Count);
        Assert.Equal("a'b", TokenText.StringValue(Sql, tokens[0], standardConformingStrings: false));
    }

    [Theory]
    [InlineData("SELECT", "select", true)]
    [InlineData("select", "select", true)]
    [InlineData("SELECTS", "select", false)]
    [InlineData("ſelect", "select", false)]
    [InlineData("\u212Aey", "key", false)]
    public void Keywords_match_by_ascii_folding_only(string text, string keyword, bool expected) =>
        Assert.Equal(expected, TokenText.EqualsKeyword(text, keyword));

    internal static List<SqlToken> Lex(string text)
    {
        var tokens = new TokenList();
        SqlLexer.Tokenize(text, tokens);
        return [.. tokens.ToArray()];
    }

    private static string Text(string sql, SqlToken token) => sql.Substring(token.Start, token.Length);
}

public sealed class KeywordTableTests
{
    [Fact]
    public void Keyword_lookup_covers_every_keyword_length()
    {
        // ParsedText only looks up identifiers up to 15 characters long.
        Assert.All(Keywords.All.Keys, keyword => Assert.InRange(keyword.Length, 1, 15));
        Assert.Contains("characteristics", Keywords.All.Keys);
    }

    [Fact]
    public void Keyword_sets_are_part_of_the_lookup_table()
    {
        Assert.Subset(Keywords.All.Keys.ToHashSet(), Keywords.NotFunctions.ToHashSet());
        Assert.Subset(Keywords.All.Keys.ToHashSet(), Keywords.TypesWithModifiers.ToHashSet());
        Assert.Subset(Keywords.All.Keys.ToHashSet(), Keywords.TypeNameWords.ToHashSet());
        Assert.Subset(Keywords.All.Keys.ToHashSet(), Keywords.FromItemIntroducers.ToHashSet());
    }
}
