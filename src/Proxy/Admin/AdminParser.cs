using Sluice.Protocol.Messages;
using Sluice.Routing.Classification;

namespace Sluice.Proxy.Admin;

/// <summary>Console input → <see cref="AdminStatement"/>s: case-insensitive keywords, statements separated by ';'.</summary>
internal static class AdminParser
{
    public const string CommandList =
        "SHOW POOLS | STATS | CLIENTS | SERVERS | DATABASES | USERS | CONFIG | VERSION | REPLICAS | PEERS | HELP, PAUSE [db], RESUME [db], RELOAD, KILL db, RECONNECT [db], SHUTDOWN";

    public const string NotSupportedHint = "The admin console answers " + CommandList + ".";

    /// <summary>The settings SHOW answers; the session's ParameterStatus values override these.</summary>
    public static readonly IReadOnlyList<string> KnownSettings =
    [
        "server_version", "server_encoding", "client_encoding", "DateStyle", "IntervalStyle", "TimeZone", "integer_datetimes",
        "standard_conforming_strings", "application_name", "transaction_isolation", "is_superuser",
    ];

    private static readonly HashSet<string> s_sqlVerbs = new(StringComparer.OrdinalIgnoreCase)
    {
        "insert", "update", "delete", "merge", "create", "alter", "drop", "truncate", "copy", "grant", "revoke", "prepare",
        "execute", "explain", "with", "values", "table", "call", "do", "listen", "notify", "lock", "vacuum", "analyze",
        "cluster", "reindex", "comment", "security", "checkpoint", "fetch", "move", "declare", "close", "load", "refresh",
        "import", "savepoint", "release", "suspend", "enable", "disable", "wait",
    };

    private static readonly Dictionary<string, ShowTopic> s_topics = new(StringComparer.OrdinalIgnoreCase)
    {
        ["pools"] = ShowTopic.Pools,
        ["stats"] = ShowTopic.Stats,
        ["clients"] = ShowTopic.Clients,
        ["servers"] = ShowTopic.Servers,
        ["databases"] = ShowTopic.Databases,
        ["users"] = ShowTopic.Users,
        ["config"] = ShowTopic.Config,
        ["version"] = ShowTopic.Version,
        ["replicas"] = ShowTopic.Replicas,
        ["peers"] = ShowTopic.Peers,
        ["help"] = ShowTopic.Help,
    };

    /// <summary>Every statement of a simple Query, or the first error (then nothing runs, as in PostgreSQL).</summary>
    public static (List<AdminStatement>? Statements, AdminError? Error) ParseBatch(string sql)
    {
        var (split, error) = ConsoleToken.Split(sql);
        if (error is not null)
        {
            return (null, error);
        }

        var statements = new List<AdminStatement>(split!.Count);
        foreach (var (text, tokens) in split)
        {
            var (statement, statementError) = Parse(text, tokens);
            if (statementError is not null)
            {
                return (null, statementError);
            }

            statements.Add(statement!);
        }

        return (statements, null);
    }

    public static (AdminStatement? Statement, AdminError? Error) Parse(string text, List<ConsoleToken> tokens)
    {
        if (tokens.Any(t => t.Kind == SqlTokenKind.Parameter))
        {
            return Fail(SqlState.FeatureNotSupported, "parameters ($1) are not supported on the admin console");
        }

        var verb = tokens[0];
        if (verb.Kind != SqlTokenKind.Identifier)
        {
            return SyntaxError(verb);
        }

        switch (verb.Value)
        {
            case "show":
                return ParseShow(text, tokens);
            case "pause":
                return DatabaseCommand(AdminStatementKind.Pause, "PAUSE", text, tokens, required: false);
            case "resume":
                return DatabaseCommand(AdminStatementKind.Resume, "RESUME", text, tokens, required: false);
            case "reconnect":
                return DatabaseCommand(AdminStatementKind.Reconnect, "RECONNECT", text, tokens, required: false);
            case "kill":
                return DatabaseCommand(AdminStatementKind.Kill, "KILL", text, tokens, required: true);
            case "reload":
                return Bare(AdminStatementKind.Reload, "RELOAD", text, tokens);
            case "shutdown":
                return Bare(AdminStatementKind.Shutdown, "SHUTDOWN", text, tokens);
            case "set":
                return Ok(AdminStatementKind.Ignored, text, "SET");
            case "reset":
                return Ok(AdminStatementKind.Ignored, text, "RESET");
            case "unlisten":
                return Ok(AdminStatementKind.Ignored, text, "UNLISTEN");
            case "discard":
                return Ok(AdminStatementKind.Ignored, text, tokens.Count > 1 ? "DISCARD " + tokens[1].Value.ToUpperInvariant() : "DISCARD");
            case "deallocate":
                return Ok(AdminStatementKind.Ignored, text, tokens.Any(t => t.IsWord("all")) ? "DEALLOCATE ALL" : "DEALLOCATE");
            case "begin":
            case "start":
                return Ok(AdminStatementKind.Begin, text, tokens[0].IsWord("start") ? "START TRANSACTION" : "BEGIN");
            case "commit":
            case "end":
                return Ok(AdminStatementKind.Commit, text, "COMMIT");
            case "rollback":
            case "abort":
                return Ok(AdminStatementKind.Rollback, text, "ROLLBACK");
            case "select":
                var (plan, error) = SelectPlan.Create(tokens);
                return error is not null
                    ? (null, error)
                    : (new AdminStatement { Kind = AdminStatementKind.Select, Text = text, Columns = plan!.Columns, Select = plan }, null);
            default:
                if (s_sqlVerbs.Contains(verb.Value))
                {
                    return Fail(SqlState.FeatureNotSupported, $"{verb.Value.ToUpperInvariant()} is not supported on the admin console", NotSupportedHint);
                }

                return Fail(SqlState.SyntaxError, $"unknown admin console command \"{verb.Value}\"", NotSupportedHint);
        }
    }

    private static (AdminStatement?, AdminError?) ParseShow(string text, List<ConsoleToken> tokens)
    {
        if (tokens.Count < 2)
        {
            return Fail(SqlState.SyntaxError, "SHOW needs what to show", NotSupportedHint);
        }

        if (tokens.Count > 2)
        {
            return SyntaxError(tokens[2]);
        }

        var what = tokens[1];
        if (what.Kind == SqlTokenKind.Identifier && s_topics.TryGetValue(what.Value, out var topic))
        {
            return (new AdminStatement { Kind = AdminStatementKind.Show, Text = text, Topic = topic, Columns = AdminConsole.ColumnsOf(topic), Tag = "SHOW" }, null);
        }

        if (what.Identifier is { } name && KnownSettings.FirstOrDefault(s => s.Equals(name, StringComparison.OrdinalIgnoreCase)) is { } setting)
        {
            return (new AdminStatement
            {
                Kind = AdminStatementKind.ShowSetting,
                Text = text,
                Argument = setting,
                Columns = [AdminColumns.Text(setting)],
                Tag = "SHOW",
            }, null);
        }

        return Fail("42704", $"unrecognized configuration parameter \"{what.Value}\"", NotSupportedHint);
    }

    private static (AdminStatement?, AdminError?) DatabaseCommand(AdminStatementKind kind, string tag, string text, List<ConsoleToken> tokens, bool required)
    {
        if (tokens.Count > 2)
        {
            return SyntaxError(tokens[2]);
        }

        if (tokens.Count == 1)
        {
            return required
                ? Fail(SqlState.SyntaxError, $"{tag} needs a database name: {tag} db")
                : Ok(kind, text, tag);
        }

        var name = tokens[1];
        if (name.Identifier is null && !name.IsText)
        {
            return SyntaxError(name);
        }

        // An unquoted database name is taken as written, not folded: database names in proxy.toml keep their case,
        // and PgBouncer's console reads them the same way.
        var database = name.Kind == SqlTokenKind.Identifier ? name.Text : name.Value;
        return (new AdminStatement { Kind = kind, Text = text, Argument = database, Tag = tag }, null);
    }

    private static (AdminStatement?, AdminError?) Bare(AdminStatementKind kind, string tag, string text, List<ConsoleToken> tokens) =>
        tokens.Count > 1 ? SyntaxError(tokens[1]) : Ok(kind, text, tag);

    private static (AdminStatement?, AdminError?) Ok(AdminStatementKind kind, string text, string tag) =>
        (new AdminStatement { Kind = kind, Text = text, Tag = tag }, null);

    private static (AdminStatement?, AdminError?) SyntaxError(ConsoleToken at) =>
        Fail(SqlState.SyntaxError, $"syntax error at or near \"{at.Text}\"", NotSupportedHint);

    private static (AdminStatement?, AdminError?) Fail(string sqlState, string message, string? hint = null) =>
        (null, new AdminError(sqlState, message, hint));
}
