using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Sluice.Protocol;
using Sluice.Protocol.Messages;

namespace Sluice.Proxy.Admin;

/// <summary>A Bind, as far as the console needs it: names, how many parameters, and the result formats asked for.</summary>
internal readonly record struct BindMessage(string Portal, string Statement, int ParameterCount, short[] ResultFormats);

/// <summary>
/// The messages the console writes beyond <see cref="MessageWriter"/>: RowDescription and DataRow in the format each
/// column was asked for in Bind (Npgsql asks for binary), and PortalSuspended; and the Bind and Execute readers.
/// </summary>
internal static class AdminWire
{
    private const short TextFormat = 0;
    private const short BinaryFormat = 1;

    public static short FormatOf(short[] formats, int column) => formats.Length switch
    {
        0 => TextFormat,
        1 => formats[0],
        _ => formats[column],
    };

    public static void WriteRowDescription(IBufferWriter<byte> writer, IReadOnlyList<ColumnDescription> columns, short[] formats)
    {
        var length = 4 + 2;
        foreach (var column in columns)
        {
            length += Encoding.UTF8.GetByteCount(column.Name) + 1 + 18;
        }

        var span = writer.GetSpan(1 + length);
        span[0] = (byte)BackendMessageCode.RowDescription;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], length);
        BinaryPrimitives.WriteInt16BigEndian(span[5..], (short)columns.Count);
        var pos = 7;
        for (var i = 0; i < columns.Count; i++)
        {
            var column = columns[i];
            pos += Encoding.UTF8.GetBytes(column.Name, span[pos..]);
            span[pos++] = 0;
            BinaryPrimitives.WriteInt32BigEndian(span[pos..], 0);
            BinaryPrimitives.WriteInt16BigEndian(span[(pos + 4)..], 0);
            BinaryPrimitives.WriteInt32BigEndian(span[(pos + 6)..], column.TypeOid);
            BinaryPrimitives.WriteInt16BigEndian(span[(pos + 10)..], column.TypeSize);
            BinaryPrimitives.WriteInt32BigEndian(span[(pos + 12)..], -1);
            BinaryPrimitives.WriteInt16BigEndian(span[(pos + 16)..], FormatOf(formats, i));
            pos += 18;
        }

        writer.Advance(1 + length);
    }

    public static void WriteDataRow(IBufferWriter<byte> writer, IReadOnlyList<ColumnDescription> columns, object?[] row, short[] formats)
    {
        var cells = new byte[]?[columns.Count];
        var length = 4 + 2;
        for (var i = 0; i < columns.Count; i++)
        {
            cells[i] = Encode(columns[i], i < row.Length ? row[i] : null, FormatOf(formats, i));
            length += 4 + (cells[i]?.Length ?? 0);
        }

        var span = writer.GetSpan(1 + length);
        span[0] = (byte)BackendMessageCode.DataRow;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], length);
        BinaryPrimitives.WriteInt16BigEndian(span[5..], (short)columns.Count);
        var pos = 7;
        foreach (var cell in cells)
        {
            BinaryPrimitives.WriteInt32BigEndian(span[pos..], cell?.Length ?? -1);
            pos += 4;
            if (cell is not null)
            {
                cell.CopyTo(span[pos..]);
                pos += cell.Length;
            }
        }

        writer.Advance(1 + length);
    }

    public static void WritePortalSuspended(IBufferWriter<byte> writer)
    {
        var span = writer.GetSpan(5);
        span[0] = (byte)BackendMessageCode.PortalSuspended;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], 4);
        writer.Advance(5);
    }

    /// <summary>A value in the column's type: text as PostgreSQL prints it, or the type's binary send format.</summary>
    public static byte[]? Encode(ColumnDescription column, object? value, short format)
    {
        if (value is null)
        {
            return null;
        }

        if (format == BinaryFormat)
        {
            switch (column.TypeOid)
            {
                case ColumnDescription.Int8Oid:
                    var int8 = new byte[8];
                    BinaryPrimitives.WriteInt64BigEndian(int8, Convert.ToInt64(value, CultureInfo.InvariantCulture));
                    return int8;
                case ColumnDescription.Int4Oid:
                    var int4 = new byte[4];
                    BinaryPrimitives.WriteInt32BigEndian(int4, Convert.ToInt32(value, CultureInfo.InvariantCulture));
                    return int4;
                case AdminColumns.Float8Oid:
                    var float8 = new byte[8];
                    BinaryPrimitives.WriteDoubleBigEndian(float8, Convert.ToDouble(value, CultureInfo.InvariantCulture));
                    return float8;
                case AdminColumns.BoolOid:
                    return [(byte)((bool)value ? 1 : 0)];
            }
        }

        return Encoding.UTF8.GetBytes(Text(value));
    }

    public static string Text(object value) => value switch
    {
        string text => text,
        bool flag => flag ? "t" : "f",
        double number => number.ToString("R", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    public static BindMessage ReadBind(byte[] payload)
    {
        var reader = new Cursor(payload, "Bind");
        var portal = reader.ReadCString();
        var statement = reader.ReadCString();
        var parameterFormats = reader.ReadInt16();
        reader.Skip(parameterFormats * 2);
        var parameters = reader.ReadInt16();
        for (var i = 0; i < parameters; i++)
        {
            var length = reader.ReadInt32();
            if (length > 0)
            {
                reader.Skip(length);
            }
        }

        var resultFormatCount = reader.ReadInt16();
        var resultFormats = new short[resultFormatCount];
        for (var i = 0; i < resultFormats.Length; i++)
        {
            resultFormats[i] = reader.ReadInt16();
            if (resultFormats[i] is not (TextFormat or BinaryFormat))
            {
                throw new ProtocolViolationException($"Malformed Bind message: unknown result format code {resultFormats[i]}.");
            }
        }

        reader.EnsureEnd();
        return new BindMessage(portal, statement, parameters, resultFormats);
    }

    public static (string Portal, int MaxRows) ReadExecute(byte[] payload)
    {
        var reader = new Cursor(payload, "Execute");
        var portal = reader.ReadCString();
        var maxRows = reader.ReadInt32();
        reader.EnsureEnd();
        return (portal, maxRows);
    }

    private ref struct Cursor(byte[] payload, string message)
    {
        private int _pos;

        public string ReadCString()
        {
            var end = Array.IndexOf(payload, (byte)0, _pos);
            if (end < 0)
            {
                throw Violation("a name has no NUL terminator");
            }

            var text = Encoding.UTF8.GetString(payload, _pos, end - _pos);
            _pos = end + 1;
            return text;
        }

        public short ReadInt16()
        {
            Need(2);
            var value = BinaryPrimitives.ReadInt16BigEndian(payload.AsSpan(_pos));
            _pos += 2;
            if (value < 0)
            {
                throw Violation($"negative count {value}");
            }

            return value;
        }

        public int ReadInt32()
        {
            Need(4);
            var value = BinaryPrimitives.ReadInt32BigEndian(payload.AsSpan(_pos));
            _pos += 4;
            return value;
        }

        public void Skip(int count)
        {
            Need(count);
            _pos += count;
        }

        public readonly void EnsureEnd()
        {
            if (_pos != payload.Length)
            {
                throw Violation($"{payload.Length - _pos} unexpected bytes at the end");
            }
        }

        private readonly void Need(int count)
        {
            if (count < 0 || payload.Length - _pos < count)
            {
                throw Violation("it ends early");
            }
        }

        private readonly ProtocolViolationException Violation(string what) => new($"Malformed {message} message: {what}.");
    }
}
