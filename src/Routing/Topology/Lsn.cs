using System.Globalization;

namespace Sluice.Routing.Topology;

/// <summary>
/// A PostgreSQL WAL position (pg_lsn): a 64-bit byte offset into the write-ahead log, written as two hexadecimal
/// halves "XXXXXXXX/YYYYYYYY". Subtracting two of them gives the bytes between, as <c>pg_wal_lsn_diff</c> does.
/// </summary>
public readonly record struct Lsn(ulong Value) : IComparable<Lsn>
{
    /// <summary>0/0, which PostgreSQL uses for "no position".</summary>
    public static Lsn Zero => default;

    /// <summary>A floor no server reaches: a read with it goes to the primary.</summary>
    public static Lsn MaxValue => new(ulong.MaxValue);

    /// <summary>Parses "16/B374D848"; false for anything else (empty halves, non-hex, a half over 32 bits).</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out Lsn lsn)
    {
        lsn = default;
        var slash = text.IndexOf('/');
        if (slash <= 0 || slash == text.Length - 1)
        {
            return false;
        }

        if (!uint.TryParse(text[..slash], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var high)
            || !uint.TryParse(text[(slash + 1)..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var low))
        {
            return false;
        }

        lsn = new Lsn(((ulong)high << 32) | low);
        return true;
    }

    public static Lsn Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var lsn) ? lsn : throw new FormatException($"'{text}' is not a WAL position (expected two hexadecimal halves such as 16/B374D848)");
    }

    /// <summary>Bytes from <paramref name="from"/> to <paramref name="to"/>: positive when <paramref name="to"/> is ahead.</summary>
    public static long operator -(Lsn to, Lsn from) =>
        to.Value >= from.Value
            ? (long)Math.Min(to.Value - from.Value, long.MaxValue)
            : -(long)Math.Min(from.Value - to.Value, long.MaxValue);

    public static long Subtract(Lsn to, Lsn from) => to - from;

    public static bool operator <(Lsn left, Lsn right) => left.Value < right.Value;

    public static bool operator >(Lsn left, Lsn right) => left.Value > right.Value;

    public static bool operator <=(Lsn left, Lsn right) => left.Value <= right.Value;

    public static bool operator >=(Lsn left, Lsn right) => left.Value >= right.Value;

    public int CompareTo(Lsn other) => Value.CompareTo(other.Value);

    /// <summary>PostgreSQL's own spelling: upper-case hex halves without leading zeros ("0/3000060").</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Value >> 32:X}/{Value & 0xFFFF_FFFF:X}");
}
