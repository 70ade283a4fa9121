namespace Sluice.Protocol.Messages;

/// <summary>The SQLSTATE codes the proxy itself raises.</summary>
public static class SqlState
{
    public const string ProtocolViolation = "08P01";
    public const string ConnectionFailure = "08006";
    public const string ConnectionException = "08000";
    public const string InvalidAuthorizationSpecification = "28000";
    public const string InvalidPassword = "28P01";
    public const string InvalidCatalogName = "3D000";
    public const string TooManyConnections = "53300";
    public const string QueryCanceled = "57014";
    public const string AdminShutdown = "57P01";
    public const string CrashShutdown = "57P02";
    public const string CannotConnectNow = "57P03";
    public const string InFailedSqlTransaction = "25P02";
    public const string IdleInTransactionSessionTimeout = "25P03";
    public const string FeatureNotSupported = "0A000";
    public const string ReadOnlySqlTransaction = "25006";
    public const string InternalError = "XX000";
    public const string SyntaxError = "42601";
    public const string InsufficientPrivilege = "42501";
    public const string InvalidParameterValue = "22023";
    public const string ActiveSqlTransaction = "25001";
    public const string InvalidSqlStatementName = "26000";
}
