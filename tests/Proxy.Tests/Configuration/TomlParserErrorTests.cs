using Sluice.Proxy.Configuration.Toml;

namespace Sluice.Proxy.Tests.Configuration;

public sealed class TomlParserErrorTests
{
    private static TomlError Error(string toml)
    {
        var exception = Assert.Throws<TomlException>(() => TomlParser.Parse(toml));
        return exception.Error;
    }

    [Theory]
    // Redefinitions
    [InlineData("a = 1\nb = 2\na = 3", 3, "duplicate key 'a' (first defined at line 1)")]
    [InlineData("a.b = 1\n\na.b = 2", 3, "duplicate key 'a.b'")]
    [InlineData("\"a\" = 1\na = 2", 2, "duplicate key 'a'")]
    [InlineData("a = 1\na.b = 2", 2, "'a' already holds an integer")]
    [InlineData("[a]\nx = 1\n[b]\n[a]", 4, "table [a] is defined twice (first at line 1)")]
    [InlineData("[a]\nb = 1\n[a.b]", 3, "already holds an integer")]
    [InlineData("[a.b]\n[a]\n[a]", 3, "table [a] is defined twice")]
    [InlineData("[a]\nb.c = 1\n[a.b]", 3, "already defined with dotted keys")]
    [InlineData("[t1]\nt2.t3.v = 0\n[t1.t2.t3]", 3, "already defined with dotted keys")]
    [InlineData("[a.b.c]\nz = 9\n[a]\nb.c.t = 9", 4, "defined by a header")]
    [InlineData("[a.b.c.d]\nz = 9\n[a]\nb.c.d.k.t = 9", 4, "defined by a header")]
    [InlineData("a = { b = 1 }\n[a]", 2, "inline table")]
    [InlineData("a = { b = 1 }\na.c = 2", 2, "inline table")]
    [InlineData("a = { b = 1 }\n[a.c]", 2, "inline table")]
    [InlineData("a = { b = { c = 1 }, b.d = 2 }", 1, "inline table")]
    [InlineData("a = { b = 1, b = 2 }", 1, "duplicate key 'b'")]
    [InlineData("a = []\n[[a]]", 2, "static array")]
    [InlineData("a = [{ b = 1 }]\n[a.c]", 2, "static array")]
    [InlineData("[a]\n[[a]]", 2, "already a table")]
    [InlineData("[[a]]\n[a]", 2, "array of tables")]
    [InlineData("[[albums.songs]]\nname = \"x\"\n[[albums]]", 3, "already a table")]
    [InlineData("a = 1\n[a]", 2, "already holds an integer")]
    [InlineData("a = 1\n[[a]]", 2, "already holds an integer")]
    // Strings
    [InlineData("a = 1\nb = \"abc\nc = 2", 2, "unterminated string")]
    [InlineData("a = 'abc\nb = 1", 1, "unterminated literal string")]
    [InlineData("a = 1\n\nb = \"\"\"\nabc\n", 3, "unterminated multi-line string")]
    [InlineData("b = '''\nabc\n", 1, "unterminated multi-line literal string")]
    [InlineData("a = \"bad \\x41 escape\"", 1, "invalid escape sequence '\\x'")]
    [InlineData("a = \"bad \\e escape\"", 1, "invalid escape sequence '\\e'")]
    [InlineData("a = \"\"\"\nok\nbad \\a\n\"\"\"", 3, "invalid escape sequence '\\a'")]
    [InlineData("a = \"\\u12\"", 1, "needs 4 hexadecimal digits")]
    [InlineData("a = \"\\U0001F60\"", 1, "needs 8 hexadecimal digits")]
    [InlineData("a = \"\\uD800\"", 1, "not a Unicode scalar value")]
    [InlineData("a = \"\\U00110000\"", 1, "not a Unicode scalar value")]
    [InlineData("a = \"trailing backslash \\\n\"", 1, "only works in multi-line strings")]
    [InlineData("a = \"control \u0001 char\"", 1, "control character U+0001")]
    [InlineData("a = 'control \u007F char'", 1, "control character U+007F")]
    [InlineData("a = \"\"\"x\"\"\"\"\"\"", 1, "too many")]
    [InlineData("\"\"\"key\"\"\" = 1", 1, "multi-line string cannot be a key")]
    // Numbers
    [InlineData("a = 01", 1, "leading zeros")]
    [InlineData("a = -012", 1, "leading zeros")]
    [InlineData("a = 00.5", 1, "leading zeros")]
    [InlineData("a = 1__2", 1, "invalid number '1__2'")]
    [InlineData("a = _1", 1, "invalid value '_1'")]
    [InlineData("a = 1_", 1, "invalid number '1_'")]
    [InlineData("a = 1.", 1, "decimal point")]
    [InlineData("a = .5", 1, "invalid number '.5'")]
    [InlineData("a = 1.e5", 1, "decimal point")]
    [InlineData("a = 1e", 1, "exponent")]
    [InlineData("a = 1e_5", 1, "exponent")]
    [InlineData("a = 1.5.2", 1, "invalid number")]
    [InlineData("a = 0x", 1, "invalid hexadecimal integer")]
    [InlineData("a = 0xG1", 1, "invalid hexadecimal integer")]
    [InlineData("a = 0o8", 1, "invalid octal integer")]
    [InlineData("a = 0b102", 1, "invalid binary integer")]
    [InlineData("a = 0x_1", 1, "invalid hexadecimal integer")]
    [InlineData("a = 0X1F", 1, "invalid number")]
    [InlineData("a = +0x1F", 1, "cannot have a sign")]
    [InlineData("a = -0b1", 1, "cannot have a sign")]
    [InlineData("a = 9223372036854775808", 1, "does not fit in 64 bits")]
    [InlineData("a = -9223372036854775809", 1, "does not fit in 64 bits")]
    [InlineData("a = 0x8000000000000000", 1, "does not fit in 64 bits")]
    [InlineData("a = 1e999", 1, "out of range")]
    [InlineData("a = infinity", 1, "invalid value 'infinity'")]
    [InlineData("a = NaN", 1, "invalid value 'NaN'")]
    // Dates
    [InlineData("a = 1979-02-30", 1, "invalid date-time")]
    [InlineData("a = 1979-13-01", 1, "invalid date-time")]
    [InlineData("a = 1900-02-29", 1, "invalid date-time")]
    [InlineData("a = 07:32", 1, "invalid date-time")]
    [InlineData("a = 24:00:00", 1, "invalid date-time")]
    [InlineData("a = 1979-05-27T07:32:00+25:00", 1, "invalid date-time")]
    [InlineData("a = 1979-05-27T07:32:00.", 1, "invalid date-time")]
    [InlineData("a = 1979-05-27X07:32:00", 1, "invalid date-time")]
    // Keys, values and line structure
    [InlineData("a 1", 1, "expected '=' after the key 'a'")]
    [InlineData("\na", 2, "expected '=' after the key 'a'")]
    [InlineData("a =", 1, "missing value for the key 'a'")]
    [InlineData("a = # comment", 1, "missing value")]
    [InlineData("= 1", 1, "expected a key, found '='")]
    [InlineData("a. = 1", 1, "expected a key")]
    [InlineData("a = 1 b = 2", 1, "expected the end of the line after the value")]
    [InlineData("a = \"x\" \"y\"", 1, "expected the end of the line after the value")]
    [InlineData("mode = transaction", 1, "invalid value 'transaction' (strings must be in quotes)")]
    [InlineData("a = true2", 1, "invalid value 'true2'")]
    [InlineData("a = TRUE", 1, "invalid value 'TRUE'")]
    [InlineData("a = 1\rb = 2", 1, "carriage return")]
    [InlineData("# comment \u0007 bell", 1, "control character U+0007")]
    [InlineData("bare key = 1", 1, "expected '=' after the key 'bare'")]
    [InlineData("ключ = 1", 1, "expected a key")]
    // Headers
    [InlineData("[a", 1, "expected ']'")]
    [InlineData("[]", 1, "expected a key, found ']'")]
    [InlineData("[[a]", 1, "expected ']]'")]
    [InlineData("[[a] ]", 1, "expected ']]'")]
    [InlineData("[a] b = 1", 1, "expected the end of the line after the table header")]
    [InlineData("[a.]", 1, "expected a key")]
    // Arrays and inline tables
    [InlineData("a = [1 2]", 1, "expected ',' or ']'")]
    [InlineData("a = [1,,2]", 1, "expected a value, found ','")]
    [InlineData("a = [,]", 1, "expected a value, found ','")]
    [InlineData("x = 0\na = [1,\n2", 2, "unterminated array")]
    [InlineData("a = [\n1,\n2 3\n]", 3, "expected ',' or ']'")]
    [InlineData("a = { b = 1,\nc = 2 }", 1, "inline table must be closed")]
    [InlineData("a = { b = 1, }", 1, "trailing comma")]
    [InlineData("a = { b = 1 c = 2 }", 1, "expected ',' or '}'")]
    [InlineData("a = { b }", 1, "expected '=' after the key 'b'")]
    [InlineData("a = {", 1, "inline table must be closed")]
    public void Invalid_documents_report_the_line_and_the_reason(string toml, int line, string message)
    {
        var error = Error(toml);

        Assert.Equal(line, error.Line);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_read_as_line_and_message()
    {
        var error = Error("a = 1\na = 2");

        Assert.Equal("line 2: duplicate key 'a' (first defined at line 1)", error.ToString());
    }
}
