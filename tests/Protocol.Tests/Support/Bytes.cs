using System.Buffers.Binary;
using System.Text;

namespace Sluice.Protocol.Tests.Support;

/// <summary>Builds wire bytes by hand, independent of the code under test.</summary>
internal sealed class Bytes
{
    private readonly List<byte> _bytes = [];

    public Bytes Byte(byte value)
    {
        _bytes.Add(value);
        return this;
    }

    public Bytes Byte(char value) => Byte((byte)value);

    public Bytes Raw(params byte[] values)
    {
        _bytes.AddRange(values);
        return this;
    }

    public Bytes Int16(short value)
    {
        var buffer = new byte[2];
        BinaryPrimitives.WriteInt16BigEndian(buffer, value);
        return Raw(buffer);
    }

    public Bytes Int32(int value)
    {
        var buffer = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(buffer, value);
        return Raw(buffer);
    }

    /// <summary>UTF-8 text without terminator.</summary>
    public Bytes Text(string value) => Raw(Encoding.UTF8.GetBytes(value));

    /// <summary>UTF-8 text and its NUL.</summary>
    public Bytes CString(string value) => Text(value).Byte(0);

    public byte[] ToArray() => [.. _bytes];

    /// <summary>A startup-style packet: Int32 length (counting itself) then this content.</summary>
    public byte[] ToStartupPacket() => new Bytes().Int32(_bytes.Count + 4).Raw([.. _bytes]).ToArray();

    /// <summary>A regular message: type byte, Int32 length, then this content as payload.</summary>
    public byte[] ToMessage(char code) => new Bytes().Byte(code).Int32(_bytes.Count + 4).Raw([.. _bytes]).ToArray();
}
