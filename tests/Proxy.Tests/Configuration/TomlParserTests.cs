using Sluice.Proxy.Configuration.Toml;

namespace Sluice.Proxy.Tests.Configuration;

public sealed class TomlParserTests
{
    private static TomlValue Value(string toml, string key = "a")
    {
        var document = TomlParser.Parse(toml);
        TomlValue value = document;
        foreach (var part in key.Split('.'))
        {
            value = ((TomlTable)value)[part];
        }

        return value;
    }

    private static string Str(string toml) => Assert.IsType<TomlString>(Value(toml)).Value;

    private static long Int(string toml) => Assert.IsType<TomlInteger>(Value(toml)).Value;

    private static double Float(string toml) => Assert.IsType<TomlFloat>(Value(toml)).Value;

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment")]
    [InlineData("\n\n   \t\n# comment\n\n")]
    [InlineData("\r\n# crlf\r\n")]
    public void Empty_documents_are_empty_tables(string toml)
    {
        Assert.Empty(TomlParser.Parse(toml));
    }

    [Fact]
    public void Keys_bare_quoted_and_dotted()
    {
        var document = TomlParser.Parse("""
            bare_key-1 = 1
            "quoted key" = 2
            'literal key' = 3
            "" = 4
            1234 = 5
            site."google.com" = 6
            fruit . color = "red"
            fruit.shape = "round"
            """);

        Assert.Equal(1, ((TomlInteger)document["bare_key-1"]).Value);
        Assert.Equal(2, ((TomlInteger)document["quoted key"]).Value);
        Assert.Equal(3, ((TomlInteger)document["literal key"]).Value);
        Assert.Equal(4, ((TomlInteger)document[""]).Value);
        Assert.Equal(5, ((TomlInteger)document["1234"]).Value);
        Assert.Equal(6, ((TomlInteger)((TomlTable)document["site"])["google.com"]).Value);
        var fruit = (TomlTable)document["fruit"];
        Assert.Equal(["color", "shape"], fruit.Keys);
        Assert.Equal("red", ((TomlString)fruit["color"]).Value);
    }

    [Fact]
    public void A_dotted_bare_key_that_looks_like_a_float_is_two_keys()
    {
        var document = TomlParser.Parse("3.14159 = \"pi\"");

        Assert.Equal("pi", ((TomlString)((TomlTable)document["3"])["14159"]).Value);
    }

    [Fact]
    public void Keys_and_values_carry_their_lines()
    {
        var document = TomlParser.Parse("""
            # line 1
            a = 1

            [server]
            listen = [
              "one",
              "two",
            ]
            """);

        Assert.True(document.TryGetEntry("a", out var a));
        Assert.Equal(2, a.Line);
        Assert.True(document.TryGetEntry("server", out var server));
        Assert.Equal(4, server.Line);
        Assert.Equal(4, server.Value.Line);
        var serverTable = (TomlTable)server.Value;
        Assert.True(serverTable.TryGetEntry("listen", out var listen));
        Assert.Equal(5, listen.Line);
        var array = (TomlArray)listen.Value;
        Assert.Equal([6, 7], array.Select(item => item.Line));
    }

    [Fact]
    public void Crlf_line_endings_count_lines()
    {
        var document = TomlParser.Parse("a = 1\r\n\r\nb = 2\r\n");

        Assert.True(document.TryGetEntry("b", out var b));
        Assert.Equal(3, b.Line);
    }

    [Fact]
    public void A_byte_order_mark_is_skipped()
    {
        Assert.Equal(1, Int("\uFEFFa = 1"));
    }

    [Fact]
    public void Tables_and_sub_tables()
    {
        var document = TomlParser.Parse("""
            top = true

            [a]
            x = 1

            [a.b.c]
            y = 2

            [ a . "quoted" ]
            z = 3
            """);

        Assert.True(((TomlBoolean)document["top"]).Value);
        var a = (TomlTable)document["a"];
        Assert.Equal(1, ((TomlInteger)a["x"]).Value);
        var c = (TomlTable)((TomlTable)a["b"])["c"];
        Assert.Equal(2, ((TomlInteger)c["y"]).Value);
        Assert.Equal(3, ((TomlInteger)((TomlTable)a["quoted"])["z"]).Value);
    }

    [Fact]
    public void An_implicit_table_may_be_defined_once_later()
    {
        var document = TomlParser.Parse("""
            [x.y.z]
            a = 1
            [x]
            b = 2
            """);

        var x = (TomlTable)document["x"];
        Assert.Equal(2, ((TomlInteger)x["b"]).Value);
        Assert.Equal(3, x.Line);
    }

    [Fact]
    public void A_header_may_define_a_sub_table_of_a_dotted_key_table()
    {
        var document = TomlParser.Parse("""
            [fruit]
            apple.color = "red"
            apple.taste.sweet = true

            [fruit.apple.texture]
            smooth = true
            """);

        var apple = (TomlTable)((TomlTable)document["fruit"])["apple"];
        Assert.True(((TomlBoolean)((TomlTable)apple["texture"])["smooth"]).Value);
        Assert.True(((TomlBoolean)((TomlTable)apple["taste"])["sweet"]).Value);
    }

    [Fact]
    public void Arrays_of_tables_with_sub_tables()
    {
        var document = TomlParser.Parse("""
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

        var fruits = (TomlArray)document["fruits"];
        Assert.True(fruits.IsArrayOfTables);
        Assert.Equal(2, fruits.Count);
        var apple = (TomlTable)fruits[0];
        Assert.Equal(1, apple.Line);
        Assert.Equal("red", ((TomlString)((TomlTable)apple["physical"])["color"]).Value);
        Assert.Equal(["red delicious", "granny smith"], ((TomlArray)apple["varieties"]).Select(v => ((TomlString)((TomlTable)v)["name"]).Value));
        var banana = (TomlTable)fruits[1];
        Assert.Equal(13, banana.Line);
        Assert.Equal("plantain", ((TomlString)((TomlTable)((TomlArray)banana["varieties"])[0])["name"]).Value);
    }

    [Fact]
    public void Inline_tables()
    {
        var document = TomlParser.Parse("""
            empty = {}
            point = { x = 1, y = 2 }
            nested = { inner = { deep = "yes" }, list = [1, 2] }
            dotted = { a.b = 1, a.c = 2 }
            servers = [ { host = "h1", port = 1 }, { host = "h2", port = 2 } ]
            """);

        Assert.Empty((TomlTable)document["empty"]);
        var point = (TomlTable)document["point"];
        Assert.True(point.IsInline);
        Assert.Equal(["x", "y"], point.Keys);
        var nested = (TomlTable)document["nested"];
        Assert.Equal("yes", ((TomlString)((TomlTable)nested["inner"])["deep"]).Value);
        var dotted = (TomlTable)((TomlTable)document["dotted"])["a"];
        Assert.Equal(["b", "c"], dotted.Keys);
        var servers = (TomlArray)document["servers"];
        Assert.False(servers.IsArrayOfTables);
        Assert.Equal("h2", ((TomlString)((TomlTable)servers[1])["host"]).Value);
    }

    [Theory]
    [InlineData("""a = "plain" """, "plain")]
    [InlineData("""a = "" """, "")]
    [InlineData("""a = "tab\there" """, "tab\there")]
    [InlineData("""a = "\b\t\n\f\r\"\\" """, "\b\t\n\f\r\"\\")]
    [InlineData("""a = "\u00e9\u20AC" """, "é€")]
    [InlineData("""a = "\U0001F600" """, "\U0001F600")]
    [InlineData("""a = "it's # not a comment" """, "it's # not a comment")]
    [InlineData("a = \"raw\ttab\"", "raw\ttab")]
    [InlineData("""a = 'C:\Users\nodejs\templates'""", @"C:\Users\nodejs\templates")]
    [InlineData("""a = '<\i\c*\s*>'""", @"<\i\c*\s*>")]
    [InlineData("""a = 'say "hi"'""", "say \"hi\"")]
    [InlineData("""a = ''""", "")]
    public void Single_line_strings(string toml, string expected)
    {
        Assert.Equal(expected, Str(toml));
    }

    [Theory]
    [InlineData("a = \"\"\"\nRoses are red\nViolets are blue\"\"\"", "Roses are red\nViolets are blue")]
    [InlineData("a = \"\"\"\r\none\r\ntwo\"\"\"", "one\ntwo")]
    [InlineData("a = \"\"\"one\"\"\"", "one")]
    [InlineData("a = \"\"\"\nThe quick brown \\\n\n\n  fox jumps over \\\n    the lazy dog.\"\"\"", "The quick brown fox jumps over the lazy dog.")]
    [InlineData("a = \"\"\"\\\n       The quick brown \\   \n       fox.\\\n       \"\"\"", "The quick brown fox.")]
    [InlineData("a = \"\"\"Here are two quotation marks: \"\". Simple enough.\"\"\"", "Here are two quotation marks: \"\". Simple enough.")]
    [InlineData("a = \"\"\"Here are three quotation marks: \"\"\\\".\"\"\"", "Here are three quotation marks: \"\"\".")]
    [InlineData("a = \"\"\"\"This,\" she said, \"is just a pointless statement.\"\"\"\"", "\"This,\" she said, \"is just a pointless statement.\"")]
    [InlineData("a = \"\"\"ends with two quotes\"\"\"\"\"", "ends with two quotes\"\"")]
    [InlineData("a = \"\"\"escapes \\t\\u0041 work\"\"\"", "escapes \tA work")]
    [InlineData("a = '''\nThe first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n'''", "The first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n")]
    [InlineData("a = '''I [dw]on't need \\d{2} apples'''", "I [dw]on't need \\d{2} apples")]
    [InlineData("a = ''''That,' she said, 'is still pointless.''''", "'That,' she said, 'is still pointless.'")]
    [InlineData("a = '''no \\ escapes \\n here'''", "no \\ escapes \\n here")]
    public void Multi_line_strings(string toml, string expected)
    {
        Assert.Equal(expected, Str(toml));
    }

    [Fact]
    public void A_multi_line_string_spans_lines_and_the_next_key_has_the_right_line()
    {
        var document = TomlParser.Parse("a = \"\"\"\none\ntwo\n\"\"\"\nb = 1");

        Assert.True(document.TryGetEntry("b", out var b));
        Assert.Equal(5, b.Line);
        Assert.Equal(1, document["a"].Line);
    }

    [Theory]
    [InlineData("a = 0", 0)]
    [InlineData("a = +99", 99)]
    [InlineData("a = 42", 42)]
    [InlineData("a = -17", -17)]
    [InlineData("a = -0", 0)]
    [InlineData("a = +0", 0)]
    [InlineData("a = 1_000", 1000)]
    [InlineData("a = 5_349_221", 5349221)]
    [InlineData("a = 1_2_3_4_5", 12345)]
    [InlineData("a = 0xDEADBEEF", 0xDEADBEEF)]
    [InlineData("a = 0xdeadbeef", 0xDEADBEEF)]
    [InlineData("a = 0xdead_beef", 0xDEADBEEF)]
    [InlineData("a = 0x00ff", 255)]
    [InlineData("a = 0o01234567", 342391)]
    [InlineData("a = 0o755", 493)]
    [InlineData("a = 0b11010110", 214)]
    [InlineData("a = 0b1_0", 2)]
    [InlineData("a = 9223372036854775807", long.MaxValue)]
    [InlineData("a = -9223372036854775808", long.MinValue)]
    [InlineData("a = 0x7FFFFFFFFFFFFFFF", long.MaxValue)]
    public void Integers(string toml, long expected)
    {
        Assert.Equal(expected, Int(toml));
    }

    [Theory]
    [InlineData("a = +1.0", 1.0)]
    [InlineData("a = 3.1415", 3.1415)]
    [InlineData("a = -0.01", -0.01)]
    [InlineData("a = 5e+22", 5e+22)]
    [InlineData("a = 1e06", 1e06)]
    [InlineData("a = -2E-2", -2E-2)]
    [InlineData("a = 6.626e-34", 6.626e-34)]
    [InlineData("a = 224_617.445_991_228", 224617.445991228)]
    [InlineData("a = 0.0", 0.0)]
    [InlineData("a = 0e0", 0.0)]
    [InlineData("a = 1e1_0", 1e10)]
    [InlineData("a = inf", double.PositiveInfinity)]
    [InlineData("a = +inf", double.PositiveInfinity)]
    [InlineData("a = -inf", double.NegativeInfinity)]
    public void Floats(string toml, double expected)
    {
        Assert.Equal(expected, Float(toml));
    }

    [Theory]
    [InlineData("a = nan")]
    [InlineData("a = +nan")]
    [InlineData("a = -nan")]
    public void Not_a_number(string toml)
    {
        Assert.True(double.IsNaN(Float(toml)));
    }

    [Fact]
    public void Negative_zero_keeps_its_sign()
    {
        Assert.True(double.IsNegative(Float("a = -0.0")));
    }

    [Theory]
    [InlineData("a = true", true)]
    [InlineData("a = false", false)]
    public void Booleans(string toml, bool expected)
    {
        Assert.Equal(expected, Assert.IsType<TomlBoolean>(Value(toml)).Value);
    }

    [Theory]
    [InlineData("a = 1979-05-27T07:32:00Z", TomlDateTimeKind.OffsetDateTime, "1979-05-27T07:32:00Z")]
    [InlineData("a = 1979-05-27T00:32:00-07:00", TomlDateTimeKind.OffsetDateTime, "1979-05-27T00:32:00-07:00")]
    [InlineData("a = 1979-05-27T00:32:00.999999+07:00", TomlDateTimeKind.OffsetDateTime, "1979-05-27T00:32:00.999999+07:00")]
    [InlineData("a = 1979-05-27 07:32:00Z", TomlDateTimeKind.OffsetDateTime, "1979-05-27 07:32:00Z")]
    [InlineData("a = 1979-05-27t07:32:00z", TomlDateTimeKind.OffsetDateTime, "1979-05-27t07:32:00z")]
    [InlineData("a = 1979-05-27T07:32:00", TomlDateTimeKind.LocalDateTime, "1979-05-27T07:32:00")]
    [InlineData("a = 1979-05-27 07:32:00.5", TomlDateTimeKind.LocalDateTime, "1979-05-27 07:32:00.5")]
    [InlineData("a = 1979-05-27", TomlDateTimeKind.LocalDate, "1979-05-27")]
    [InlineData("a = 2000-02-29", TomlDateTimeKind.LocalDate, "2000-02-29")]
    [InlineData("a = 07:32:00", TomlDateTimeKind.LocalTime, "07:32:00")]
    [InlineData("a = 00:32:00.999999", TomlDateTimeKind.LocalTime, "00:32:00.999999")]
    public void Dates_and_times_are_validated_and_kept_as_written(string toml, TomlDateTimeKind kind, string text)
    {
        var value = Assert.IsType<TomlDateTime>(Value(toml));
        Assert.Equal(kind, value.DateTimeKind);
        Assert.Equal(text, value.Text);
    }

    [Fact]
    public void A_date_then_a_comment_is_not_a_date_time()
    {
        var document = TomlParser.Parse("a = 1979-05-27 # comment\nb = 1");

        Assert.Equal("1979-05-27", ((TomlDateTime)document["a"]).Text);
    }

    [Fact]
    public void Arrays_mixed_nested_multi_line_with_comments_and_trailing_commas()
    {
        var document = TomlParser.Parse("""
            integers = [ 1, 2, 3 ]
            colors = [ "red", "yellow", "green", ]
            nested = [ [ 1, 2 ], [3, 4, 5] ]
            mixed = [ 0.1, "two", 3, true, { x = 1 }, [] ]
            multi = [   # comment after the bracket
              1,        # one
              # a line of its own
              2
              ,
            ]
            empty = [
            ]
            """);

        Assert.Equal([1L, 2L, 3L], ((TomlArray)document["integers"]).Select(v => ((TomlInteger)v).Value));
        Assert.Equal(3, ((TomlArray)document["colors"]).Count);
        Assert.Equal(3, ((TomlArray)((TomlArray)document["nested"])[1]).Count);
        Assert.Equal(
            [TomlValueKind.Float, TomlValueKind.String, TomlValueKind.Integer, TomlValueKind.Boolean, TomlValueKind.Table, TomlValueKind.Array],
            ((TomlArray)document["mixed"]).Select(v => v.Kind));
        Assert.Equal([1L, 2L], ((TomlArray)document["multi"]).Select(v => ((TomlInteger)v).Value));
        Assert.Empty((TomlArray)document["empty"]);
    }

    [Fact]
    public void Comments_may_follow_every_construct()
    {
        var document = TomlParser.Parse("""
            # header comment
            [a] # after a header
            b = 1 # after a value
            [[c]]   # after an array table header
            d = "# not a comment" #comment
            """);

        Assert.Equal(1, ((TomlInteger)((TomlTable)document["a"])["b"]).Value);
        Assert.Equal("# not a comment", ((TomlString)((TomlTable)((TomlArray)document["c"])[0])["d"]).Value);
    }

    [Fact]
    public void Whitespace_around_equals_and_in_headers_is_allowed()
    {
        var document = TomlParser.Parse("a\t=\t1\n  [  t  ]  \n  b=2\n[[ arr ]]");

        Assert.Equal(1, ((TomlInteger)document["a"]).Value);
        Assert.Equal(2, ((TomlInteger)((TomlTable)document["t"])["b"]).Value);
        Assert.Single((TomlArray)document["arr"]);
    }

    [Fact]
    public void Parse_lets_the_error_be_read_as_a_value()
    {
        Assert.False(TomlParser.TryParse("a = 1\na = 2", out var document, out var error));
        Assert.Null(document);
        Assert.Equal(2, error.Line);
        Assert.True(TomlParser.TryParse("a = 1", out document, out error));
        Assert.Null(error);
        Assert.Single(document);
    }
}
