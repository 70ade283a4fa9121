using Sluice.Protocol;
using Sluice.Protocol.Messages;

namespace Sluice.Proxy.Security;

/// <summary>
/// An ErrorResponse a server sent during login is passed on to the client (3D000, 28P01 ...). Only when it is one:
/// a SQLSTATE that is not five digits or capital letters did not come from PostgreSQL.
/// </summary>
internal static class ServerErrorCheck
{
    public static ErrorFields Validate(ErrorFields error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var state = error.SqlState;
        if (state.Length != 5 || !state.All(static c => c is (>= '0' and <= '9') or (>= 'A' and <= 'Z')))
        {
            throw new ProtocolViolationException("the server sent an ErrorResponse without a valid SQLSTATE");
        }

        return error;
    }
}
