using System.IO.Pipelines;
using Sluice.Protocol;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Runtime;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Admin;

/// <summary>
/// One admin console connection after login. Speaks both query protocols: a simple Query may hold several statements;
/// the extended protocol (Parse, Bind, Describe, Execute, Sync — Npgsql, psycopg 3) works with unnamed and named
/// statements and portals, binary result formats and row limits. Errors are ERRORs: the connection stays usable.
/// </summary>
internal sealed class AdminSession
{
    private const int MaxMessageLength = 1 << 20;
    private const int FlushThreshold = 64 * 1024;

    private readonly ProxyRuntime _runtime;
    private readonly PipeWriter _output;
    private readonly PipeReader _input;
    private readonly AdminContext _context;
    private readonly Dictionary<string, PreparedStatement> _statements = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Portal> _portals = new(StringComparer.Ordinal);
    private readonly List<Func<Task>> _afterFlush = [];
    private TransactionStatus _status = TransactionStatus.Idle;
    private bool _skipUntilSync;

    public AdminSession(ProxyRuntime runtime, DuplexConnection connection, string user, string applicationName)
    {
        _runtime = runtime;
        _input = connection.Input;
        _output = connection.Output;
        _context = new AdminContext(user, runtime.Config.Server.AdminDatabase, new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["server_version"] = AdminConsole.ServerVersion,
            ["server_encoding"] = "UTF8",
            ["client_encoding"] = "UTF8",
            ["DateStyle"] = "ISO, MDY",
            ["IntervalStyle"] = "postgres",
            ["TimeZone"] = "UTC",
            ["integer_datetimes"] = "on",
            ["standard_conforming_strings"] = "on",
            ["application_name"] = applicationName,
            ["is_superuser"] = "off",
            ["transaction_isolation"] = "read committed",
        });
    }

    public string CloseReason { get; private set; } = "admin console closed";

    /// <summary>Completes the login: AuthenticationOk, the session's parameters, the backend key, ReadyForQuery.</summary>
    public async Task StartAsync(int processId, int secretKey, CancellationToken cancellationToken)
    {
        MessageWriter.WriteAuthenticationOk(_output);
        foreach (var (name, value) in _context.Settings)
        {
            if (name != "transaction_isolation")
            {
                MessageWriter.WriteParameterStatus(_output, name, value);
            }
        }

        MessageWriter.WriteBackendKeyData(_output, processId, secretKey);
        MessageWriter.WriteReadyForQuery(_output, TransactionStatus.Idle);
        await _output.FlushAsync(cancellationToken);
    }

    /// <summary>Answers messages until the client leaves; connection failures and protocol violations are thrown.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ControlFrame frame;
            try
            {
                frame = await ControlFrame.ReadAsync(_input, MaxMessageLength, cancellationToken);
            }
            catch (EndOfStreamException)
            {
                CloseReason = "client closed the connection";
                return;
            }

            var code = (FrontendMessageCode)frame.Code;
            if (code == FrontendMessageCode.Terminate)
            {
                CloseReason = "client sent Terminate";
                return;
            }

            // After an error in an extended-protocol exchange everything up to Sync is dropped, as PostgreSQL does.
            if (_skipUntilSync && code != FrontendMessageCode.Sync)
            {
                continue;
            }

            switch (code)
            {
                case FrontendMessageCode.Query:
                    await QueryAsync(FrontendMessageReader.ReadQuery(frame.PayloadSequence), cancellationToken);
                    break;
                case FrontendMessageCode.Parse:
                    Parse(FrontendMessageReader.ReadParse(frame.PayloadSequence));
                    break;
                case FrontendMessageCode.Bind:
                    Bind(FrontendMessageReader.ReadBind(frame.PayloadSequence));
                    break;
                case FrontendMessageCode.Describe:
                    Describe(FrontendMessageReader.ReadCloseOrDescribe(frame.PayloadSequence));
                    break;
                case FrontendMessageCode.Execute:
                    await ExecuteAsync(FrontendMessageReader.ReadExecute(frame.PayloadSequence), cancellationToken);
                    break;
                case FrontendMessageCode.Close:
                    Close(FrontendMessageReader.ReadCloseOrDescribe(frame.PayloadSequence));
                    break;
                case FrontendMessageCode.Sync:
                    _skipUntilSync = false;
                    if (_status == TransactionStatus.Idle)
                    {
                        _portals.Clear();
                    }

                    MessageWriter.WriteReadyForQuery(_output, _status);
                    await FlushAsync(cancellationToken);
                    break;
                case FrontendMessageCode.Flush:
                    await FlushAsync(cancellationToken);
                    break;
                case FrontendMessageCode.FunctionCall:
                    WriteError(new AdminError(SqlState.FeatureNotSupported, "function calls are not supported on the admin console"));
                    MessageWriter.WriteReadyForQuery(_output, _status);
                    await FlushAsync(cancellationToken);
                    break;
                case FrontendMessageCode.CopyData:
                case FrontendMessageCode.CopyDone:
                case FrontendMessageCode.CopyFail:
                    // No COPY runs here; PostgreSQL ignores these outside COPY too.
                    break;
                default:
                    throw new ProtocolViolationException($"unexpected message type {FrameHeader.Describe(frame.Code)} on the admin console");
            }
        }
    }

    private async Task QueryAsync(string sql, CancellationToken cancellationToken)
    {
        // A simple Query replaces the unnamed statement and portal.
        _statements.Remove("");
        _portals.Remove("");
        var (statements, error) = AdminParser.ParseBatch(sql);
        if (error is not null)
        {
            WriteError(error);
        }
        else if (statements!.Count == 0)
        {
            MessageWriter.WriteEmptyQueryResponse(_output);
        }
        else
        {
            foreach (var statement in statements)
            {
                var result = await RunStatementAsync(statement, cancellationToken);
                if (result.Error is { } failure)
                {
                    WriteError(failure);
                    break;
                }

                if (result.Columns is { } columns)
                {
                    MessageWriter.WriteRowDescription(_output, columns);
                    await WriteRowsAsync(columns, result.Rows, [], 0, result.Rows.Count, cancellationToken);
                }

                MessageWriter.WriteCommandComplete(_output, result.Tag);
            }
        }

        MessageWriter.WriteReadyForQuery(_output, _status);
        await FlushAsync(cancellationToken);
    }

    private void Parse(ParseMessage message)
    {
        if (message.StatementName.Length > 0 && _statements.ContainsKey(message.StatementName))
        {
            Fail("42P05", $"prepared statement \"{message.StatementName}\" already exists");
            return;
        }

        var (split, error) = ConsoleToken.Split(message.Query);
        if (error is not null)
        {
            Fail(error);
            return;
        }

        AdminStatement? statement = null;
        if (split!.Count > 1)
        {
            Fail(SqlState.SyntaxError, "cannot insert multiple commands into a prepared statement");
            return;
        }

        if (split.Count == 1)
        {
            (statement, error) = AdminParser.Parse(split[0].Text, split[0].Tokens);
            if (error is not null)
            {
                Fail(error);
                return;
            }
        }

        _statements[message.StatementName] = new PreparedStatement(statement, message.ParameterTypes);
        MessageWriter.WriteParseComplete(_output);
    }

    private void Bind(BindMessage bind)
    {
        if (!_statements.TryGetValue(bind.Statement, out var prepared))
        {
            Fail("26000", $"prepared statement \"{bind.Statement}\" does not exist");
            return;
        }

        if (bind.ParameterCount != prepared.ParameterTypes.Length)
        {
            Fail(SqlState.ProtocolViolation, $"bind message supplies {bind.ParameterCount} parameters, but prepared statement \"{bind.Statement}\" requires {prepared.ParameterTypes.Length}");
            return;
        }

        var columnCount = prepared.Statement?.Columns?.Count ?? 0;
        if (bind.ResultFormats.Length > 1 && bind.ResultFormats.Length != columnCount)
        {
            Fail(SqlState.ProtocolViolation, $"bind message has {bind.ResultFormats.Length} result formats but query has {columnCount} columns");
            return;
        }

        if (bind.Portal.Length > 0 && _portals.ContainsKey(bind.Portal))
        {
            Fail("42P03", $"cursor \"{bind.Portal}\" already exists");
            return;
        }

        _portals[bind.Portal] = new Portal(prepared.Statement, bind.ResultFormats);
        MessageWriter.WriteBindComplete(_output);
    }

    private void Describe((byte Kind, string Name) target)
    {
        if (target.Kind == (byte)'S')
        {
            if (!_statements.TryGetValue(target.Name, out var prepared))
            {
                Fail("26000", $"prepared statement \"{target.Name}\" does not exist");
                return;
            }

            MessageWriter.WriteParameterDescription(_output, prepared.ParameterTypes);
            WriteDescription(prepared.Statement?.Columns, []);
            return;
        }

        if (!_portals.TryGetValue(target.Name, out var portal))
        {
            Fail("34000", $"portal \"{target.Name}\" does not exist");
            return;
        }

        WriteDescription(portal.Statement?.Columns, portal.Formats);
    }

    private void WriteDescription(IReadOnlyList<ColumnDescription>? columns, short[] formats)
    {
        if (columns is null)
        {
            MessageWriter.WriteNoData(_output);
        }
        else
        {
            MessageWriter.WriteRowDescription(_output, columns, formats);
        }
    }

    private async Task ExecuteAsync((string Portal, int MaxRows) execute, CancellationToken cancellationToken)
    {
        if (!_portals.TryGetValue(execute.Portal, out var portal))
        {
            Fail("34000", $"portal \"{execute.Portal}\" does not exist");
            return;
        }

        if (portal.Statement is not { } statement)
        {
            MessageWriter.WriteEmptyQueryResponse(_output);
            return;
        }

        if (portal.Result is null)
        {
            var result = await RunStatementAsync(statement, cancellationToken);
            if (result.Error is { } failure)
            {
                Fail(failure);
                return;
            }

            portal.Result = result;
        }

        var rows = portal.Result.Rows;
        var remaining = rows.Count - portal.Position;
        var count = execute.MaxRows > 0 ? Math.Min(execute.MaxRows, remaining) : remaining;
        if (portal.Result.Columns is { } columns)
        {
            await WriteRowsAsync(columns, rows, portal.Formats, portal.Position, count, cancellationToken);
        }

        portal.Position += count;
        if (execute.MaxRows > 0 && portal.Position < rows.Count)
        {
            MessageWriter.WritePortalSuspended(_output);
        }
        else
        {
            MessageWriter.WriteCommandComplete(_output, statement.Kind == AdminStatementKind.Select ? $"SELECT {count}" : portal.Result.Tag);
        }
    }

    private void Close((byte Kind, string Name) target)
    {
        if (target.Kind == (byte)'S')
        {
            _statements.Remove(target.Name);
        }
        else
        {
            _portals.Remove(target.Name);
        }

        MessageWriter.WriteCloseComplete(_output);
    }

    /// <summary>Runs one statement: session-level ones here, everything that acts on the proxy in <see cref="AdminConsole"/>.</summary>
    private async Task<AdminResult> RunStatementAsync(AdminStatement statement, CancellationToken cancellationToken)
    {
        AdminResult result;
        switch (statement.Kind)
        {
            case AdminStatementKind.Ignored:
                result = AdminResult.Command(statement.Tag);
                break;
            case AdminStatementKind.Begin:
                // The console has no transactions; BEGIN/COMMIT are accepted for drivers that wrap everything in one.
                _status = TransactionStatus.InTransaction;
                result = AdminResult.Command(statement.Tag);
                break;
            case AdminStatementKind.Commit:
            case AdminStatementKind.Rollback:
                _status = TransactionStatus.Idle;
                result = AdminResult.Command(statement.Tag);
                break;
            default:
                result = await _runtime.Admin.ExecuteAsync(statement, _context, cancellationToken);
                break;
        }

        foreach (var (severity, message) in result.Notices)
        {
            MessageWriter.WriteNoticeResponse(_output, severity, severity == "WARNING" ? "01000" : "00000", message);
        }

        if (result.AfterFlush is { } action)
        {
            _afterFlush.Add(action);
        }

        return result;
    }

    private async Task WriteRowsAsync(IReadOnlyList<ColumnDescription> columns, IReadOnlyList<object?[]> rows, short[] formats, int start, int count, CancellationToken cancellationToken)
    {
        for (var i = start; i < start + count; i++)
        {
            MessageWriter.WriteDataRow(_output, columns, rows[i], formats);
            if (_output.CanGetUnflushedBytes && _output.UnflushedBytes > FlushThreshold)
            {
                await _output.FlushAsync(cancellationToken);
            }
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _output.FlushAsync(cancellationToken);
        if (_afterFlush.Count > 0)
        {
            var actions = _afterFlush.ToArray();
            _afterFlush.Clear();
            foreach (var action in actions)
            {
                await action();
            }
        }
    }

    private void WriteError(AdminError error) =>
        MessageWriter.WriteErrorResponse(_output, "ERROR", error.SqlState, error.Message, hint: error.Hint);

    /// <summary>An error inside an extended-protocol exchange: reported, then messages are dropped up to Sync.</summary>
    private void Fail(AdminError error)
    {
        WriteError(error);
        _skipUntilSync = true;
    }

    private void Fail(string sqlState, string message) => Fail(new AdminError(sqlState, message));

    private sealed record PreparedStatement(AdminStatement? Statement, int[] ParameterTypes);

    private sealed class Portal(AdminStatement? statement, short[] formats)
    {
        public AdminStatement? Statement { get; } = statement;

        public short[] Formats { get; } = formats;

        public AdminResult? Result { get; set; }

        public int Position { get; set; }
    }
}
