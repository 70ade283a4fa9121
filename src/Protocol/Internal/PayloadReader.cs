using System.Buffers;
using System.Text;

namespace Sluice.Protocol.Internal;

/// <summary>
/// Reads the fields of one message payload (possibly multi-segment). Every shortfall or leftover becomes a
/// <see cref="ProtocolViolationException"/> that names the message, never an index exception.
/// </summary>
internal ref struct PayloadReader
{
    private SequenceReader<byte> _reader;
    private readonly string _message;

    public PayloadReader(in ReadOnlySequence<byte> payload, string message)
    {
        _reader = new SequenceReader<byte>(payload);
        _message = message;
    }

    public readonly long Remaining => _reader.Remaining;

    public byte ReadByte()
    {
        if (!_reader.TryRead(out var value))
        {
            throw Truncated("a byte");
        }

        return value;
    }

    public int ReadInt32()
    {
        if (!_reader.TryReadBigEndian(out int value))
        {
            throw Truncated("an Int32");
        }

        return value;
    }

    public ushort ReadUInt16()
    {
        if (!_reader.TryReadBigEndian(out short value))
        {
            throw Truncated("an Int16");
        }

        return (ushort)value;
    }

    /// <summary>A NUL-terminated string; invalid UTF-8 is replaced unless <paramref name="strict"/>.</summary>
    public string ReadCString(string field, bool strict = false)
    {
        if (!TryReadCString(field, strict, out var value))
        {
            throw Violation($"{field} has no NUL terminator");
        }

        return value;
    }

    /// <summary>False (nothing consumed) when no NUL follows; throws only for invalid UTF-8 when strict.</summary>
    public bool TryReadCString(string field, bool strict, out string value)
    {
        if (!_reader.TryReadTo(out ReadOnlySequence<byte> bytes, 0, advancePastDelimiter: true))
        {
            value = "";
            return false;
        }

        value = Decode(bytes, field, strict);
        return true;
    }

    public byte[] ReadBytes(int count, string field)
    {
        if (count < 0 || _reader.Remaining < count)
        {
            throw Violation($"{field} declares {count} bytes but {_reader.Remaining} remain");
        }

        var bytes = _reader.UnreadSequence.Slice(0, count).ToArray();
        _reader.Advance(count);
        return bytes;
    }

    /// <summary>Skips <paramref name="count"/> bytes of <paramref name="field"/> without reading them.</summary>
    public void Skip(long count, string field)
    {
        if (count < 0 || _reader.Remaining < count)
        {
            throw Violation($"{field} declares {count} bytes but {_reader.Remaining} remain");
        }

        _reader.Advance(count);
    }

    public byte[] ReadRest()
    {
        var bytes = _reader.UnreadSequence.ToArray();
        _reader.AdvanceToEnd();
        return bytes;
    }

    public readonly void EnsureEnd()
    {
        if (_reader.Remaining != 0)
        {
            throw Violation($"{_reader.Remaining} unexpected bytes after the last field");
        }
    }

    public readonly ProtocolViolationException Violation(string problem) => new($"Malformed {_message} message: {problem}.");

    private readonly ProtocolViolationException Truncated(string what) => Violation($"truncated, expected {what} at offset {_reader.Consumed}");

    private readonly string Decode(in ReadOnlySequence<byte> bytes, string field, bool strict)
    {
        if (bytes.IsEmpty)
        {
            return "";
        }

        Encoding encoding = strict ? ProtocolEncoding.Strict : ProtocolEncoding.Relaxed;
        try
        {
            return bytes.IsSingleSegment ? encoding.GetString(bytes.FirstSpan) : encoding.GetString(bytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw new ProtocolViolationException($"Malformed {_message} message: {field} is not valid UTF-8.", ex);
        }
    }
}
