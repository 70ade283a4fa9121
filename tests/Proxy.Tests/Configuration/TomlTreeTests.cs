using Sluice.Proxy.Configuration;
using Sluice.Proxy.Configuration.Toml;
using Tomlyn.Syntax;

namespace Sluice.Proxy.Tests.Configuration;

/// <summary>proxy.toml read through Tomlyn: every syntax error with its line, and tables whose keys and values know their lines.</summary>
public sealed class TomlTreeTests
{
    private const string File = "test.toml";

    private static TomlTable Parse(string toml)
    {
        Assert.True(TomlTree.TryParse(toml, File, out var root, out var errors), string.Join("\n", errors));
        return root;
    }

    private static TomlEntry Entry(TomlTable table, string key)
    {
        Assert.True(table.TryGetEntry(key, out var entry), $"no key '{key}'");
        return entry;
    }

    private static TomlTable Table(TomlTable table, string key) => Assert.IsType<TomlTable>(Entry(table, key).Value);

    private static TomlArray Array(TomlTable table, string key) => Assert.IsType<TomlArray>(Entry(table, key).Value);

    private static ValueSyntax Scalar(TomlNode node) => Assert.IsType<TomlScalar>(node).Syntax;

    private static string Str(TomlTable table, string key) => Assert.IsType<StringValueSyntax>(Scalar(Entry(table, key).Value)).Value!;

    private static long Int(TomlTable table, string key) => Assert.IsType<IntegerValueSyntax>(Scalar(Entry(table, key).Value)).Value;

    private static bool Bool(TomlTable table, string key) => Assert.IsType<BooleanValueSyntax>(Scalar(Entry(table, key).Value)).Value;

    [Theory]
    // Redefinitions
    [InlineData("a = 1\nb = 2\na = 3", 3)]
    [InlineData("a.b = 1\n\na.b = 2", 3)]
    [InlineData("\"a\" = 1\na = 2", 2)]
    [InlineData("a = 1\na.b = 2", 2)]
    [InlineData("[a]\nx = 1\n[b]\n[a]", 4)]
    [InlineData("[a]\nb = 1\n[a.b]", 3)]
    [InlineData("a = { b = 1 }\n[a]", 2)]
    [InlineData("a = { b = 1 }\na.c = 2", 2)]
    [InlineData("a = { b = 1, b = 2 }", 1)]
    [InlineData("a = []\n[[a]]", 2)]
    [InlineData("[a]\n[[a]]", 2)]
    [InlineData("a = 1\n[a]", 2)]
    // Strings
    [InlineData("a = 1\nb = \"abc\nc = 2", 2)]
    [InlineData("a = \"bad \\q escape\"", 1)]
    [InlineData("a = \"\\u12\"", 1)]
    [InlineData("a = \"control \u0001 char\"", 1)]
    // Numbers
    [InlineData("a = 01", 1)]
    [InlineData("a = 1__2", 1)]
    [InlineData("a = 1.", 1)]
    [InlineData("a = 0xG1", 1)]
    [InlineData("a = 9223372036854775808", 1)]
    [InlineData("a = infinity", 1)]
    // Dates
    [InlineData("a = 1979-02-30", 1)]
    [InlineData("a = 1979-13-01", 1)]
    // Keys, values and line structure
    [InlineData("a 1", 1)]
    [InlineData("\na", 2)]
    [InlineData("a =", 1)]
    [InlineData("= 1", 1)]
    [InlineData("a = 1 b = 2", 1)]
    [InlineData("mode = transaction", 1)]
    [InlineData("a = TRUE", 1)]
    [InlineData("a = 1\rb = 2", 1)]
    [InlineData("bare key = 1", 1)]
    // Headers
    [InlineData("[a", 1)]
    [InlineData("[]", 1)]
    [InlineData("[[a]", 1)]
    [InlineData("[a] b = 1", 1)]
    // Arrays and inline tables
    [InlineData("a = [1 2]", 1)]
    [InlineData("a = [1,,2]", 1)]
    [InlineData("a = [\n1,\n2 3\n]", 3)]
    [InlineData("a = { b }", 1)]
    [InlineData("x = 0\n\n\na = {", 4)]
    public void Invalid_documents_report_the_file_the_line_and_a_reason(string toml, int line)
    {
        Assert.False(TomlTree.TryParse(toml, File, out _, out var errors));

        var first = errors[0];
        Assert.Equal(File, first.File);
        Assert.Equal(line, first.Line);
        Assert.False(string.IsNullOrWhiteSpace(first.Message));
        Assert.StartsWith($"{File}:{line}: ", first.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_syntax_error_fails_the_whole_config_with_file_and_line()
    {
        var exception = Assert.Throws<ConfigException>(() => ConfigLoader.Parse("[server]\nlisten = [\"127.0.0.1:6432\"\nmax_client_connections = 5", File));

        var error = Assert.Single(exception.Errors);
        Assert.Equal(File, error.File);
        Assert.Equal(3, error.Line);
        Assert.Contains("closing `]`", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment")]
    [InlineData("\n\n   \t\n# comment\n\n")]
    [InlineData("\r\n# crlf\r\n")]
    public void Empty_documents_are_empty_tables(string toml)
    {
        Assert.Empty(Parse(toml).Entries);
    }

    [Fact]
    public void Keys_and_values_carry_their_lines()
    {
        var document = Parse("""
            # line 1
            a = 1

            [server]
            listen = [
              "one",
              "two",
            ]
            """);

        Assert.Equal(2, Entry(document, "a").Line);
        var server = Entry(document, "server");
        Assert.Equal(4, server.Line);
        Assert.Equal(4, server.Value.Line);
        var listen = Entry((TomlTable)server.Value, "listen");
        Assert.Equal(5, listen.Line);
        Assert.Equal([6, 7], ((TomlArray)listen.Value).Items.Select(item => item.Line));
    }

    [Fact]
    public void Crlf_line_endings_count_lines_and_a_byte_order_mark_is_skipped()
    {
        var document = Parse("\uFEFFa = 1\r\n\r\nb = 2\r\n");

        Assert.Equal(1, Int(document, "a"));
        Assert.Equal(3, Entry(document, "b").Line);
    }

    [Fact]
    public void A_multi_line_string_spans_lines_and_the_next_key_has_the_right_line()
    {
        var document = Parse("a = \"\"\"\none\ntwo\n\"\"\"\nb = 1");

        Assert.Equal("one\ntwo\n", Str(document, "a"));
        Assert.Equal(1, Entry(document, "a").Line);
        Assert.Equal(5, Entry(document, "b").Line);
    }

    [Fact]
    public void Tables_sub_tables_quoted_and_dotted_keys()
    {
        var document = Parse("""
            top = true
            site."google.com" = 6
            fruit . color = "red"
            fruit.shape = "round"

            [a]
            x = 1

            [a.b.c]
            y = 2

            [ a . "quoted" ]
            z = 3
            """);

        Assert.True(Bool(document, "top"));
        Assert.Equal(6, Int(Table(document, "site"), "google.com"));
        Assert.Equal(["color", "shape"], Table(document, "fruit").Entries.Select(entry => entry.Key));
        var a = Table(document, "a");
        Assert.Equal(1, Int(a, "x"));
        Assert.Equal(2, Int(Table(Table(a, "b"), "c"), "y"));
        Assert.Equal(3, Int(Table(a, "quoted"), "z"));
        Assert.Equal(9, Table(a, "b").Line);
    }

    [Fact]
    public void An_implicit_table_may_be_defined_once_later()
    {
        var document = Parse("""
            [x.y.z]
            a = 1
            [x]
            b = 2
            """);

        var x = Table(document, "x");
        Assert.Equal(2, Int(x, "b"));
        Assert.Equal(1, Int(Table(Table(x, "y"), "z"), "a"));
    }

    [Fact]
    public void A_header_may_define_a_sub_table_of_a_dotted_key_table()
    {
        var document = Parse("""
            [fruit]
            apple.color = "red"
            apple.taste.sweet = true

            [fruit.apple.texture]
            smooth = true
            """);

        var apple = Table(Table(document, "fruit"), "apple");
        Assert.Equal("red", Str(apple, "color"));
        Assert.True(Bool(Table(apple, "texture"), "smooth"));
        Assert.True(Bool(Table(apple, "taste"), "sweet"));
    }

    [Fact]
    public void Arrays_of_tables_with_sub_tables()
    {
        var document = Parse("""
            [[fruits]]
            name = "apple"

            [fruits.physical]
            color = "red"

            [[fruits.varieties]]
            name = "red delicious"

            [[fruits.varieties]]
            name = "granny smith"

            [[fruits]]
            name = "banana"

            [[fruits.varieties]]
            name = "plantain"
            """);

        var fruits = Array(document, "fruits");
        Assert.True(fruits.IsArrayOfTables);
        Assert.Equal(2, fruits.Items.Count);
        var apple = Assert.IsType<TomlTable>(fruits.Items[0]);
        Assert.Equal(1, apple.Line);
        Assert.Equal("red", Str(Table(apple, "physical"), "color"));
        Assert.Equal(["red delicious", "granny smith"], Array(apple, "varieties").Items.Select(v => Str((TomlTable)v, "name")));
        var banana = Assert.IsType<TomlTable>(fruits.Items[1]);
        Assert.Equal(13, banana.Line);
        Assert.Equal("plantain", Str((TomlTable)Array(banana, "varieties").Items[0], "name"));
    }

    [Fact]
    public void Inline_tables_and_arrays_of_them()
    {
        var document = Parse("""
            empty = {}
            point = { x = 1, y = 2 }
            nested = { inner = { deep = "yes" }, list = [1, 2] }
            dotted = { a.b = 1, a.c = 2 }
            servers = [
              { host = "h1", port = 1 },
              { host = "h2", port = 2 },
            ]
            """);

        Assert.Empty(Table(document, "empty").Entries);
        var point = Table(document, "point");
        Assert.True(point.IsInline);
        Assert.Equal(["x", "y"], point.Entries.Select(entry => entry.Key));
        var nested = Table(document, "nested");
        Assert.Equal("yes", Str(Table(nested, "inner"), "deep"));
        Assert.Equal(2, Array(nested, "list").Items.Count);
        Assert.Equal(2, Int(Table(Table(document, "dotted"), "a"), "c"));
        var servers = Array(document, "servers");
        Assert.False(servers.IsArrayOfTables);
        Assert.Equal([6, 7], servers.Items.Select(item => item.Line));
        Assert.Equal(["h1", "h2"], servers.Items.Select(item => Str((TomlTable)item, "host")));
    }
}
