using System.Buffers.Binary;
using System.Globalization;
using Sluice.Protocol.Internal;

namespace Sluice.Protocol.Messages;

/// <summary>
/// The two formats a column value travels in (Bind's format codes), and how the values the proxy answers with itself
/// are written in them: text as PostgreSQL prints it, binary as the type's send function writes it.
/// </summary>
/// <remarks>
/// A value is a <see cref="string"/>, <see cref="long"/>, <see cref="int"/>, <see cref="double"/> or <see cref="bool"/>
/// (or null, sent as SQL NULL). Binary is written for int8, int4, float8 and bool columns; a column of any other type
/// gets the text bytes, which is the binary form of text.
/// </remarks>
public static class DataFormat
{
    public const short Text = 0;
    public const short Binary = 1;

    /// <summary>The format of <paramref name="column"/>: no codes mean all text, one code is for every column.</summary>
    public static short ForColumn(ReadOnlySpan<short> formats, int column) => formats.Length switch
    {
        0 => Text,
        1 => formats[0],
        _ => formats[column],
    };

    /// <summary>A value as PostgreSQL prints it: booleans as t/f, numbers in the invariant culture, doubles round-trippable.</summary>
    public static string ToText(object value) => value switch
    {
        string text => text,
        bool flag => flag ? "t" : "f",
        double number => number.ToString("R", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>The bytes <see cref="Write"/> takes for the value; -1 for null.</summary>
    internal static int Length(int typeOid, object? value, short format) => value switch
    {
        null => -1,
        _ when format == Binary && BinarySize(typeOid) is > 0 and var size => size,
        _ => ProtocolEncoding.Relaxed.GetByteCount(ToText(value)),
    };

    /// <summary>Writes a non-null value into <paramref name="destination"/>; returns the bytes written.</summary>
    internal static int Write(Span<byte> destination, int typeOid, object value, short format)
    {
        if (format == Binary)
        {
            switch (typeOid)
            {
                case ColumnDescription.Int8Oid:
                    BinaryPrimitives.WriteInt64BigEndian(destination, Convert.ToInt64(value, CultureInfo.InvariantCulture));
                    return 8;
                case ColumnDescription.Int4Oid:
                    BinaryPrimitives.WriteInt32BigEndian(destination, Convert.ToInt32(value, CultureInfo.InvariantCulture));
                    return 4;
                case ColumnDescription.Float8Oid:
                    BinaryPrimitives.WriteDoubleBigEndian(destination, Convert.ToDouble(value, CultureInfo.InvariantCulture));
                    return 8;
                case ColumnDescription.BoolOid:
                    destination[0] = (byte)((bool)value ? 1 : 0);
                    return 1;
            }
        }

        return ProtocolEncoding.Relaxed.GetBytes(ToText(value), destination);
    }

    private static int BinarySize(int typeOid) => typeOid switch
    {
        ColumnDescription.Int8Oid or ColumnDescription.Float8Oid => 8,
        ColumnDescription.Int4Oid => 4,
        ColumnDescription.BoolOid => 1,
        _ => 0,
    };
}
