using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Sluice.Proxy.Configuration.Toml;

/// <summary>
/// A strict TOML 1.0 reader (https://toml.io/en/v1.0.0). It stops at the first error: past a syntax error the
/// rest of a document cannot be read reliably. Dates and times are validated and kept as text.
/// </summary>
public sealed class TomlParser
{
    private readonly string _text;
    private readonly TomlTable _root = new(1, TomlTableOrigin.Root);
    private TomlTable _current;
    private int _pos;
    private int _line = 1;

    private TomlParser(string text)
    {
        _text = text;
        _current = _root;
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            _pos = 1;
        }
    }

    private bool AtEnd => _pos >= _text.Length;

    /// <summary>Parses a whole document; throws <see cref="TomlException"/> carrying the line of the first error.</summary>
    public static TomlTable Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new TomlParser(text);
        parser.ParseDocument();
        return parser._root;
    }

    public static bool TryParse(string text, [NotNullWhen(true)] out TomlTable? document, [NotNullWhen(false)] out TomlError? error)
    {
        try
        {
            document = Parse(text);
            error = null;
            return true;
        }
        catch (TomlException exception)
        {
            document = null;
            error = exception.Error;
            return false;
        }
    }

    private void ParseDocument()
    {
        while (true)
        {
            SkipSpaces();
            if (AtEnd)
            {
                return;
            }

            switch (_text[_pos])
            {
                case '#':
                    SkipComment();
                    break;
                case '\n' or '\r':
                    ConsumeNewline();
                    break;
                case '[':
                    ParseHeader();
                    ExpectLineEnd("table header");
                    break;
                default:
                    ParseKeyValue(_current);
                    ExpectLineEnd("value");
                    break;
            }
        }
    }

    // ---- lines, whitespace, comments ----

    private char Peek(int offset = 0) => _pos + offset < _text.Length ? _text[_pos + offset] : '\0';

    private void SkipSpaces()
    {
        while (!AtEnd && _text[_pos] is ' ' or '\t')
        {
            _pos++;
        }
    }

    private bool AtNewline() => !AtEnd && _text[_pos] is '\n' or '\r';

    private void ConsumeNewline()
    {
        if (_text[_pos] == '\r')
        {
            if (Peek(1) != '\n')
            {
                throw Fail("a carriage return must be followed by a line feed");
            }

            _pos++;
        }

        _pos++;
        _line++;
    }

    /// <summary>Skips from '#' to the end of the line, leaving the newline in place.</summary>
    private void SkipComment()
    {
        _pos++;
        while (!AtEnd)
        {
            var c = _text[_pos];
            if (c is '\n' or '\r')
            {
                return;
            }

            if (IsForbiddenControl(c))
            {
                throw Fail($"control character {Describe(c)} is not allowed in a comment");
            }

            _pos++;
        }
    }

    /// <summary>Spaces, comments and newlines: what may separate the values of an array.</summary>
    private void SkipBlank()
    {
        while (true)
        {
            SkipSpaces();
            if (AtEnd)
            {
                return;
            }

            if (_text[_pos] == '#')
            {
                SkipComment();
            }
            else if (AtNewline())
            {
                ConsumeNewline();
            }
            else
            {
                return;
            }
        }
    }

    private void ExpectLineEnd(string after)
    {
        SkipSpaces();
        if (!AtEnd && _text[_pos] == '#')
        {
            SkipComment();
        }

        if (AtEnd)
        {
            return;
        }

        if (!AtNewline())
        {
            throw Fail($"expected the end of the line after the {after}, found {DescribeCurrent()}");
        }

        ConsumeNewline();
    }

    // ---- keys, headers, tables ----

    private void ParseHeader()
    {
        var line = _line;
        _pos++;
        var isArray = Peek() == '[';
        if (isArray)
        {
            _pos++;
        }

        SkipSpaces();
        var key = ParseKey();
        SkipSpaces();
        if (Peek() != ']')
        {
            throw Fail($"expected ']' to close the table header, found {DescribeCurrent()}");
        }

        _pos++;
        if (isArray)
        {
            if (Peek() != ']')
            {
                throw Fail($"expected ']]' to close the array-of-tables header, found {DescribeCurrent()}");
            }

            _pos++;
            DefineArrayElement(key, line);
        }
        else
        {
            DefineTable(key, line);
        }
    }

    private void DefineTable(string[] key, int line)
    {
        var parent = NavigateToParent(key, line);
        var name = key[^1];
        var path = FormatKey(key);
        if (parent.TryGetEntry(name, out var entry))
        {
            switch (entry.Value)
            {
                case TomlTable { Origin: TomlTableOrigin.HeaderImplicit } table:
                    table.Define(line);
                    _current = table;
                    return;
                case TomlTable { Origin: TomlTableOrigin.Dotted } table:
                    throw Fail(line, $"table [{path}] was already defined with dotted keys at line {table.Line}");
                case TomlTable { Origin: TomlTableOrigin.Inline } table:
                    throw Fail(line, $"table [{path}] was already defined as an inline table at line {table.Line}");
                case TomlTable table:
                    throw Fail(line, $"table [{path}] is defined twice (first at line {table.Line})");
                case TomlArray { IsArrayOfTables: true } array:
                    throw Fail(line, $"[{path}] is an array of tables (line {array.Line}); add elements to it with [[{path}]]");
                default:
                    throw Fail(line, $"cannot define table [{path}]: the key already holds {entry.Value.KindName} (line {entry.Line})");
            }
        }

        var created = new TomlTable(line, TomlTableOrigin.HeaderExplicit);
        parent.Add(name, line, created);
        _current = created;
    }

    private void DefineArrayElement(string[] key, int line)
    {
        var parent = NavigateToParent(key, line);
        var name = key[^1];
        var path = FormatKey(key);
        var element = new TomlTable(line, TomlTableOrigin.HeaderExplicit);
        if (parent.TryGetEntry(name, out var entry))
        {
            switch (entry.Value)
            {
                case TomlArray { IsArrayOfTables: true } array:
                    array.Add(element);
                    break;
                case TomlArray array:
                    throw Fail(line, $"cannot add to [[{path}]]: it is a static array (line {array.Line}), complete as written");
                case TomlTable table:
                    throw Fail(line, $"cannot define [[{path}]]: it is already a table (line {table.Line}), not an array of tables");
                default:
                    throw Fail(line, $"cannot define [[{path}]]: the key already holds {entry.Value.KindName} (line {entry.Line})");
            }
        }
        else
        {
            var array = new TomlArray(line, isArrayOfTables: true);
            array.Add(element);
            parent.Add(name, line, array);
        }

        _current = element;
    }

    /// <summary>Walks a header's key up to its last part, creating missing tables; arrays of tables lead to their last element.</summary>
    private TomlTable NavigateToParent(string[] key, int line)
    {
        var table = _root;
        for (var i = 0; i < key.Length - 1; i++)
        {
            if (!table.TryGetEntry(key[i], out var entry))
            {
                var created = new TomlTable(line, TomlTableOrigin.HeaderImplicit);
                table.Add(key[i], line, created);
                table = created;
                continue;
            }

            var prefix = FormatKey(key.AsSpan(0, i + 1));
            table = entry.Value switch
            {
                TomlTable { Origin: TomlTableOrigin.Inline } inline =>
                    throw Fail(line, $"cannot extend '{prefix}': it is an inline table (line {inline.Line}), complete as written"),
                TomlTable sub => sub,
                TomlArray { IsArrayOfTables: true } array => (TomlTable)array[^1],
                TomlArray array =>
                    throw Fail(line, $"cannot extend '{prefix}': it is a static array (line {array.Line}), complete as written"),
                _ => throw Fail(line, $"cannot use '{prefix}' as a table: it already holds {entry.Value.KindName} (line {entry.Line})"),
            };
        }

        return table;
    }

    private void ParseKeyValue(TomlTable table)
    {
        var line = _line;
        var key = ParseKey();
        SkipSpaces();
        if (Peek() != '=' || AtEnd)
        {
            throw Fail($"expected '=' after the key '{FormatKey(key)}', found {DescribeCurrent()}");
        }

        _pos++;
        SkipSpaces();
        if (AtEnd || AtNewline() || _text[_pos] == '#')
        {
            throw Fail($"missing value for the key '{FormatKey(key)}'");
        }

        var value = ParseValue();
        InsertKeyValue(table, key, line, value);
    }

    private void InsertKeyValue(TomlTable table, string[] key, int line, TomlValue value)
    {
        for (var i = 0; i < key.Length - 1; i++)
        {
            if (!table.TryGetEntry(key[i], out var entry))
            {
                var created = new TomlTable(line, TomlTableOrigin.Dotted);
                table.Add(key[i], line, created);
                table = created;
                continue;
            }

            var prefix = FormatKey(key.AsSpan(0, i + 1));
            table = entry.Value switch
            {
                TomlTable { Origin: TomlTableOrigin.Dotted } sub => sub,
                TomlTable { Origin: TomlTableOrigin.Inline } inline =>
                    throw Fail(line, $"cannot add '{FormatKey(key)}': '{prefix}' is an inline table (line {inline.Line}), complete as written"),
                TomlTable header =>
                    throw Fail(line, $"cannot add '{FormatKey(key)}' with a dotted key: table '{prefix}' is defined by a header (line {header.Line})"),
                _ => throw Fail(line, $"cannot add '{FormatKey(key)}': '{prefix}' already holds {entry.Value.KindName} (line {entry.Line}), not a table"),
            };
        }

        if (table.TryGetEntry(key[^1], out var existing))
        {
            throw Fail(line, $"duplicate key '{FormatKey(key)}' (first defined at line {existing.Line})");
        }

        table.Add(key[^1], line, value);
    }

    private string[] ParseKey()
    {
        var parts = new List<string> { ParseSimpleKey() };
        while (true)
        {
            var save = _pos;
            SkipSpaces();
            if (Peek() != '.' || AtEnd)
            {
                _pos = save;
                return [.. parts];
            }

            _pos++;
            SkipSpaces();
            parts.Add(ParseSimpleKey());
        }
    }

    private string ParseSimpleKey()
    {
        if (AtEnd)
        {
            throw Fail("expected a key, found the end of the file");
        }

        var c = _text[_pos];
        if (c is '"' or '\'')
        {
            if (Peek(1) == c && Peek(2) == c)
            {
                throw Fail("a multi-line string cannot be a key");
            }

            return c == '"' ? ParseBasicString() : ParseLiteralString();
        }

        var start = _pos;
        while (!AtEnd && IsBareKeyChar(_text[_pos]))
        {
            _pos++;
        }

        if (_pos == start)
        {
            throw Fail($"expected a key, found {DescribeCurrent()}");
        }

        return _text[start.._pos];
    }

    // ---- values ----

    private TomlValue ParseValue()
    {
        if (AtEnd)
        {
            throw Fail("expected a value, found the end of the file");
        }

        var line = _line;
        switch (_text[_pos])
        {
            case '"':
                return new TomlString(line, Peek(1) == '"' && Peek(2) == '"' ? ParseMultilineBasicString() : ParseBasicString());
            case '\'':
                return new TomlString(line, Peek(1) == '\'' && Peek(2) == '\'' ? ParseMultilineLiteralString() : ParseLiteralString());
            case '[':
                return ParseArray();
            case '{':
                return ParseInlineTable();
            default:
                return ParseBareValue();
        }
    }

    private TomlArray ParseArray()
    {
        var line = _line;
        _pos++;
        var array = new TomlArray(line, isArrayOfTables: false);
        while (true)
        {
            SkipBlank();
            if (AtEnd)
            {
                throw Fail(line, "unterminated array: missing ']'");
            }

            if (_text[_pos] == ']')
            {
                _pos++;
                return array;
            }

            array.Add(ParseValue());
            SkipBlank();
            if (AtEnd)
            {
                throw Fail(line, "unterminated array: missing ']'");
            }

            switch (_text[_pos])
            {
                case ',':
                    _pos++;
                    break;
                case ']':
                    _pos++;
                    return array;
                default:
                    // Past the array's first line, the likely mistake is an unclosed array: say where it began.
                    throw Fail(line == _line
                        ? $"expected ',' or ']' in the array, found {DescribeCurrent()}"
                        : $"expected ',' or ']' in the array opened at line {line}, found {DescribeCurrent()}");
            }
        }
    }

    private TomlTable ParseInlineTable()
    {
        var line = _line;
        _pos++;
        var table = new TomlTable(line, TomlTableOrigin.Dotted);
        SkipSpaces();
        if (Peek() == '}')
        {
            _pos++;
            Freeze(table);
            return table;
        }

        while (true)
        {
            SkipSpaces();
            if (AtEnd || AtNewline())
            {
                throw Fail("an inline table must be closed with '}' on the line it starts (TOML 1.0 inline tables are one line)");
            }

            if (_text[_pos] == '}')
            {
                throw Fail("a trailing comma is not allowed in an inline table");
            }

            ParseKeyValue(table);
            SkipSpaces();
            if (AtEnd || AtNewline())
            {
                throw Fail("an inline table must be closed with '}' on the line it starts (TOML 1.0 inline tables are one line)");
            }

            switch (_text[_pos])
            {
                case ',':
                    _pos++;
                    break;
                case '}':
                    _pos++;
                    Freeze(table);
                    return table;
                default:
                    throw Fail($"expected ',' or '}}' in the inline table, found {DescribeCurrent()}");
            }
        }
    }

    /// <summary>An inline table, with the tables its dotted keys made, is complete: nothing may add to it later.</summary>
    private static void Freeze(TomlTable table)
    {
        table.Origin = TomlTableOrigin.Inline;
        foreach (var entry in table)
        {
            if (entry.Value is TomlTable { Origin: TomlTableOrigin.Dotted } sub)
            {
                Freeze(sub);
            }
        }
    }

    /// <summary>Booleans, numbers and dates: read the whole token, then decide what it is.</summary>
    private TomlValue ParseBareValue()
    {
        var line = _line;
        var start = _pos;
        while (!AtEnd && IsBareValueChar(_text[_pos]))
        {
            _pos++;
        }

        // A date may be separated from its time by a space: "1979-05-27 07:32:00".
        if (_pos - start == 10 && IsDate(_text.AsSpan(start, 10)) && Peek() == ' ' && char.IsAsciiDigit(Peek(1)))
        {
            _pos++;
            while (!AtEnd && IsBareValueChar(_text[_pos]))
            {
                _pos++;
            }
        }

        if (_pos == start)
        {
            throw Fail($"expected a value, found {DescribeCurrent()}");
        }

        var token = _text[start.._pos];
        switch (token)
        {
            case "true":
                return new TomlBoolean(line, true);
            case "false":
                return new TomlBoolean(line, false);
            case "inf" or "+inf":
                return new TomlFloat(line, double.PositiveInfinity);
            case "-inf":
                return new TomlFloat(line, double.NegativeInfinity);
            case "nan" or "+nan" or "-nan":
                return new TomlFloat(line, double.NaN);
        }

        if (token.StartsWith("0x", StringComparison.Ordinal))
        {
            return new TomlInteger(line, ParseRadixInteger(token, 16, "hexadecimal", line));
        }

        if (token.StartsWith("0o", StringComparison.Ordinal))
        {
            return new TomlInteger(line, ParseRadixInteger(token, 8, "octal", line));
        }

        if (token.StartsWith("0b", StringComparison.Ordinal))
        {
            return new TomlInteger(line, ParseRadixInteger(token, 2, "binary", line));
        }

        if (token.Length > 2 && token[0] is '+' or '-' && token[1] == '0' && token[2] is 'x' or 'o' or 'b')
        {
            throw Fail(line, $"invalid number '{token}': hexadecimal, octal and binary integers cannot have a sign");
        }

        if (LooksLikeDateOrTime(token))
        {
            return ParseDateTime(token, line);
        }

        if (token.AsSpan().IndexOfAny(".eE") >= 0)
        {
            return new TomlFloat(line, ParseFloat(token, line));
        }

        return new TomlInteger(line, ParseDecimalInteger(token, line));
    }

    private long ParseDecimalInteger(string token, int line)
    {
        var digits = token.AsSpan(token[0] is '+' or '-' ? 1 : 0);
        if (!IsDigitSequence(digits, 10))
        {
            throw InvalidToken(token, line);
        }

        if (digits.Length > 1 && digits[0] == '0')
        {
            throw Fail(line, $"invalid number '{token}': leading zeros are not allowed");
        }

        if (!long.TryParse(token.Replace("_", "", StringComparison.Ordinal), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw Fail(line, $"integer '{token}' does not fit in 64 bits");
        }

        return value;
    }

    private long ParseRadixInteger(string token, int radix, string name, int line)
    {
        var digits = token.AsSpan(2);
        if (!IsDigitSequence(digits, radix))
        {
            throw Fail(line, $"invalid {name} integer '{token}'");
        }

        long value = 0;
        foreach (var c in digits)
        {
            if (c == '_')
            {
                continue;
            }

            var digit = HexValue(c);
            if (value > (long.MaxValue - digit) / radix)
            {
                throw Fail(line, $"integer '{token}' does not fit in 64 bits");
            }

            value = (value * radix) + digit;
        }

        return value;
    }

    private double ParseFloat(string token, int line)
    {
        var span = token.AsSpan();
        var i = span[0] is '+' or '-' ? 1 : 0;
        var integerStart = i;
        while (i < span.Length && (char.IsAsciiDigit(span[i]) || span[i] == '_'))
        {
            i++;
        }

        var integer = span[integerStart..i];
        if (!IsDigitSequence(integer, 10))
        {
            throw InvalidToken(token, line);
        }

        if (integer.Length > 1 && integer[0] == '0')
        {
            throw Fail(line, $"invalid number '{token}': leading zeros are not allowed");
        }

        if (i < span.Length && span[i] == '.')
        {
            var fractionStart = ++i;
            while (i < span.Length && (char.IsAsciiDigit(span[i]) || span[i] == '_'))
            {
                i++;
            }

            if (!IsDigitSequence(span[fractionStart..i], 10))
            {
                throw Fail(line, $"invalid number '{token}': a decimal point must have digits on both sides");
            }
        }

        if (i < span.Length && span[i] is 'e' or 'E')
        {
            i++;
            if (i < span.Length && span[i] is '+' or '-')
            {
                i++;
            }

            var exponentStart = i;
            while (i < span.Length && (char.IsAsciiDigit(span[i]) || span[i] == '_'))
            {
                i++;
            }

            if (!IsDigitSequence(span[exponentStart..i], 10))
            {
                throw Fail(line, $"invalid number '{token}': the exponent needs digits");
            }
        }

        if (i != span.Length)
        {
            throw InvalidToken(token, line);
        }

        var value = double.Parse(token.Replace("_", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture);
        if (double.IsInfinity(value))
        {
            throw Fail(line, $"float '{token}' is out of range");
        }

        return value;
    }

    private TomlDateTime ParseDateTime(string token, int line)
    {
        var span = token.AsSpan();
        var position = 0;
        if (span.Length > 2 && span[2] == ':')
        {
            if (!TryReadTime(span, ref position) || position != span.Length)
            {
                throw InvalidDateTime(token, line);
            }

            return new TomlDateTime(line, TomlDateTimeKind.LocalTime, token);
        }

        if (span.Length < 10 || !IsDate(span[..10]))
        {
            throw InvalidDateTime(token, line);
        }

        position = 10;
        if (position == span.Length)
        {
            return new TomlDateTime(line, TomlDateTimeKind.LocalDate, token);
        }

        if (span[position] is not ('T' or 't' or ' '))
        {
            throw InvalidDateTime(token, line);
        }

        position++;
        if (!TryReadTime(span, ref position))
        {
            throw InvalidDateTime(token, line);
        }

        if (position == span.Length)
        {
            return new TomlDateTime(line, TomlDateTimeKind.LocalDateTime, token);
        }

        if (span[position] is 'Z' or 'z')
        {
            position++;
        }
        else if (span[position] is '+' or '-')
        {
            position++;
            if (!TryReadTwoDigits(span, ref position, 23) || position >= span.Length || span[position++] != ':' || !TryReadTwoDigits(span, ref position, 59))
            {
                throw InvalidDateTime(token, line);
            }
        }

        if (position != span.Length)
        {
            throw InvalidDateTime(token, line);
        }

        return new TomlDateTime(line, TomlDateTimeKind.OffsetDateTime, token);
    }

    private TomlException InvalidDateTime(string token, int line) =>
        Fail(line, $"invalid date-time '{token}': expected RFC 3339, e.g. 1979-05-27T07:32:00Z, 1979-05-27 or 07:32:00");

    private TomlException InvalidToken(string token, int line) =>
        char.IsAsciiDigit(token[0]) || token[0] is '+' or '-' or '.'
            ? Fail(line, $"invalid number '{token}'")
            : Fail(line, $"invalid value '{token}' (strings must be in quotes)");

    // ---- strings ----

    private string ParseBasicString()
    {
        var line = _line;
        _pos++;
        var builder = new StringBuilder();
        while (true)
        {
            if (AtEnd || AtNewline())
            {
                throw Fail(line, "unterminated string: missing the closing '\"' on this line");
            }

            var c = _text[_pos];
            switch (c)
            {
                case '"':
                    _pos++;
                    return builder.ToString();
                case '\\':
                    ParseEscape(builder);
                    break;
                default:
                    if (IsForbiddenControl(c))
                    {
                        throw Fail($"control character {Describe(c)} must be escaped in a string");
                    }

                    builder.Append(c);
                    _pos++;
                    break;
            }
        }
    }

    private string ParseMultilineBasicString()
    {
        var line = _line;
        _pos += 3;
        SkipNewlineAfterOpeningDelimiter();
        var builder = new StringBuilder();
        while (true)
        {
            if (AtEnd)
            {
                throw Fail(line, "unterminated multi-line string: missing the closing '\"\"\"'");
            }

            var c = _text[_pos];
            if (c == '"')
            {
                if (ReadQuoteRun(builder, '"'))
                {
                    return builder.ToString();
                }
            }
            else if (c == '\\')
            {
                if (AtLineEndingBackslash())
                {
                    SkipWhitespaceAndNewlines();
                }
                else
                {
                    ParseEscape(builder);
                }
            }
            else if (c is '\n' or '\r')
            {
                ConsumeNewline();
                builder.Append('\n');
            }
            else if (IsForbiddenControl(c))
            {
                throw Fail($"control character {Describe(c)} must be escaped in a string");
            }
            else
            {
                builder.Append(c);
                _pos++;
            }
        }
    }

    private string ParseLiteralString()
    {
        var line = _line;
        _pos++;
        var start = _pos;
        while (true)
        {
            if (AtEnd || AtNewline())
            {
                throw Fail(line, "unterminated literal string: missing the closing \"'\" on this line");
            }

            var c = _text[_pos];
            if (c == '\'')
            {
                _pos++;
                return _text[start..(_pos - 1)];
            }

            if (IsForbiddenControl(c))
            {
                throw Fail($"control character {Describe(c)} is not allowed in a literal string");
            }

            _pos++;
        }
    }

    private string ParseMultilineLiteralString()
    {
        var line = _line;
        _pos += 3;
        SkipNewlineAfterOpeningDelimiter();
        var builder = new StringBuilder();
        while (true)
        {
            if (AtEnd)
            {
                throw Fail(line, "unterminated multi-line literal string: missing the closing \"'''\"");
            }

            var c = _text[_pos];
            if (c == '\'')
            {
                if (ReadQuoteRun(builder, '\''))
                {
                    return builder.ToString();
                }
            }
            else if (c is '\n' or '\r')
            {
                ConsumeNewline();
                builder.Append('\n');
            }
            else if (IsForbiddenControl(c))
            {
                throw Fail($"control character {Describe(c)} is not allowed in a literal string");
            }
            else
            {
                builder.Append(c);
                _pos++;
            }
        }
    }

    private void SkipNewlineAfterOpeningDelimiter()
    {
        if (AtNewline())
        {
            ConsumeNewline();
        }
    }

    /// <summary>
    /// Inside a multi-line string: a run of 1–2 quotes is content; 3–5 closes the string, the first 0–2 being content
    /// ("up to two quotes may sit next to the delimiter"); more is an error. Returns true when the string ended.
    /// </summary>
    private bool ReadQuoteRun(StringBuilder builder, char quote)
    {
        var count = 0;
        while (Peek(count) == quote && _pos + count < _text.Length)
        {
            count++;
        }

        _pos += count;
        if (count < 3)
        {
            builder.Append(quote, count);
            return false;
        }

        if (count > 5)
        {
            throw Fail($"too many {quote} characters in a row: escape them or use the other kind of string");
        }

        builder.Append(quote, count - 3);
        return true;
    }

    private bool AtLineEndingBackslash()
    {
        var i = _pos + 1;
        while (i < _text.Length && _text[i] is ' ' or '\t')
        {
            i++;
        }

        return i < _text.Length && _text[i] is '\n' or '\r';
    }

    private void SkipWhitespaceAndNewlines()
    {
        _pos++;
        while (!AtEnd)
        {
            if (_text[_pos] is ' ' or '\t')
            {
                _pos++;
            }
            else if (AtNewline())
            {
                ConsumeNewline();
            }
            else
            {
                return;
            }
        }
    }

    private void ParseEscape(StringBuilder builder)
    {
        _pos++;
        if (AtEnd)
        {
            throw Fail("unterminated escape sequence at the end of the file");
        }

        var c = _text[_pos++];
        switch (c)
        {
            case 'b':
                builder.Append('\b');
                break;
            case 't':
                builder.Append('\t');
                break;
            case 'n':
                builder.Append('\n');
                break;
            case 'f':
                builder.Append('\f');
                break;
            case 'r':
                builder.Append('\r');
                break;
            case '"':
                builder.Append('"');
                break;
            case '\\':
                builder.Append('\\');
                break;
            case 'u':
                AppendCodePoint(builder, 4);
                break;
            case 'U':
                AppendCodePoint(builder, 8);
                break;
            default:
                _pos--;
                throw Fail(c is '\n' or '\r' or ' ' or '\t'
                    ? "a backslash at the end of a line only works in multi-line strings (\"\"\"); in others escape it as \\\\"
                    : $"invalid escape sequence '\\{c}' (valid: \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX)");
        }
    }

    private void AppendCodePoint(StringBuilder builder, int digits)
    {
        var value = 0;
        for (var i = 0; i < digits; i++)
        {
            var c = Peek(i);
            if (_pos + i >= _text.Length || !char.IsAsciiHexDigit(c))
            {
                throw Fail($"invalid escape sequence: \\{(digits == 4 ? 'u' : 'U')} needs {digits} hexadecimal digits");
            }

            value = (value << 4) | HexValue(c);
            if (value > 0x10FFFF)
            {
                break;
            }
        }

        if (value > 0x10FFFF || value is >= 0xD800 and <= 0xDFFF)
        {
            throw Fail($"invalid escape sequence: \\{(digits == 4 ? 'u' : 'U')}{_text.Substring(_pos, Math.Min(digits, _text.Length - _pos))} is not a Unicode scalar value");
        }

        _pos += digits;
        builder.Append(char.ConvertFromUtf32(value));
    }

    // ---- character classes and helpers ----

    private static bool IsBareKeyChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-';

    private static bool IsBareValueChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '+' or '.' or ':';

    private static bool IsForbiddenControl(char c) => (c < ' ' && c != '\t') || c == '\x7F';

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private static bool IsDigitOf(char c, int radix) => radix switch
    {
        2 => c is '0' or '1',
        8 => c is >= '0' and <= '7',
        10 => char.IsAsciiDigit(c),
        _ => char.IsAsciiHexDigit(c),
    };

    /// <summary>One or more digits; an underscore only between two digits.</summary>
    private static bool IsDigitSequence(ReadOnlySpan<char> span, int radix)
    {
        if (span.IsEmpty)
        {
            return false;
        }

        for (var i = 0; i < span.Length; i++)
        {
            if (span[i] == '_')
            {
                if (i == 0 || i == span.Length - 1 || !IsDigitOf(span[i - 1], radix) || !IsDigitOf(span[i + 1], radix))
                {
                    return false;
                }
            }
            else if (!IsDigitOf(span[i], radix))
            {
                return false;
            }
        }

        return true;
    }

    private static bool LooksLikeDateOrTime(string token) =>
        (token.Length >= 5 && char.IsAsciiDigit(token[0]) && char.IsAsciiDigit(token[1]) && char.IsAsciiDigit(token[2]) && char.IsAsciiDigit(token[3]) && token[4] == '-')
        || (token.Length >= 3 && char.IsAsciiDigit(token[0]) && char.IsAsciiDigit(token[1]) && token[2] == ':');

    /// <summary>YYYY-MM-DD with a real day of that month.</summary>
    private static bool IsDate(ReadOnlySpan<char> span)
    {
        if (span.Length != 10 || span[4] != '-' || span[7] != '-')
        {
            return false;
        }

        foreach (var i in (ReadOnlySpan<int>)[0, 1, 2, 3, 5, 6, 8, 9])
        {
            if (!char.IsAsciiDigit(span[i]))
            {
                return false;
            }
        }

        var year = int.Parse(span[..4], CultureInfo.InvariantCulture);
        var month = int.Parse(span[5..7], CultureInfo.InvariantCulture);
        var day = int.Parse(span[8..10], CultureInfo.InvariantCulture);
        if (month is < 1 or > 12 || day < 1)
        {
            return false;
        }

        var leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        int[] daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        return day <= daysInMonth[month - 1];
    }

    /// <summary>HH:MM:SS with an optional fraction; seconds may be 60 (a leap second, as RFC 3339 allows).</summary>
    private static bool TryReadTime(ReadOnlySpan<char> span, ref int position)
    {
        if (!TryReadTwoDigits(span, ref position, 23) || position >= span.Length || span[position++] != ':'
            || !TryReadTwoDigits(span, ref position, 59) || position >= span.Length || span[position++] != ':'
            || !TryReadTwoDigits(span, ref position, 60))
        {
            return false;
        }

        if (position < span.Length && span[position] == '.')
        {
            var start = ++position;
            while (position < span.Length && char.IsAsciiDigit(span[position]))
            {
                position++;
            }

            return position > start;
        }

        return true;
    }

    private static bool TryReadTwoDigits(ReadOnlySpan<char> span, ref int position, int max)
    {
        if (position + 2 > span.Length || !char.IsAsciiDigit(span[position]) || !char.IsAsciiDigit(span[position + 1]))
        {
            return false;
        }

        var value = ((span[position] - '0') * 10) + (span[position + 1] - '0');
        position += 2;
        return value <= max;
    }

    private static string FormatKey(ReadOnlySpan<string> key)
    {
        var builder = new StringBuilder();
        foreach (var part in key)
        {
            if (builder.Length > 0)
            {
                builder.Append('.');
            }

            if (part.Length > 0 && part.All(IsBareKeyChar))
            {
                builder.Append(part);
            }
            else
            {
                builder.Append('"').Append(part.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
            }
        }

        return builder.ToString();
    }

    private static string Describe(char c) =>
        c is >= ' ' and < '\x7F' ? $"'{c}'" : $"U+{(int)c:X4}";

    private string DescribeCurrent() =>
        AtEnd ? "the end of the file"
        : AtNewline() ? "the end of the line"
        : Describe(_text[_pos]);

    private TomlException Fail(string message) => Fail(_line, message);

    private static TomlException Fail(int line, string message) => new(new TomlError(line, message));
}
