using Sluice.Protocol.Messages;

namespace Sluice.Proxy.Admin;

/// <summary>
/// The column types the console sends: text for names and states, int8 for counts, sizes and times, float8 for lag in
/// seconds (int4 and bool only for constants a SELECT asks for). A row holds <see cref="string"/>, <see cref="long"/>,
/// <see cref="int"/>, <see cref="double"/> or <see cref="bool"/> values (or null) matching its columns' types.
/// </summary>
internal static class AdminColumns
{
    public static ColumnDescription Text(string name) => new(name, ColumnDescription.TextOid, -1);

    public static ColumnDescription Int8(string name) => new(name, ColumnDescription.Int8Oid, 8);

    public static ColumnDescription Int4(string name) => new(name, ColumnDescription.Int4Oid, 4);

    public static ColumnDescription Float8(string name) => new(name, ColumnDescription.Float8Oid, 8);

    public static ColumnDescription Bool(string name) => new(name, ColumnDescription.BoolOid, 1);
}
