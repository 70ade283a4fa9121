using Sluice.Protocol.Messages;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Servers;
using Sluice.Proxy.Statements;
using Sluice.Routing.Classification;

namespace Sluice.Proxy.Clients;

/// <summary>
/// What a client's SQL does to its session: settings journaled until their transaction settles, settings put back
/// after a reset, and pinning when a setting cannot be followed from server to server.
/// </summary>
internal sealed partial class ClientSession
{
    /// <summary>
    /// DISCARD/DEALLOCATE and pinning, as the statement will change them on the server. Returns the client's startup
    /// settings a RESET / RESET ALL / DISCARD ALL takes back to the server's defaults: PostgreSQL would return to the
    /// values the client logged in with, and those are SET values on a shared server. The settings themselves become
    /// the client's only once the server says they stuck (<see cref="SettleSessionSettingsLocked"/>).
    /// </summary>
    private List<KeyValuePair<string, string>>? ApplySessionEffects(ServerConnection server, ClassificationResult classification)
    {
        if (classification.PinsSession)
        {
            Pin(classification.PinReasons);
        }

        List<KeyValuePair<string, string>>? restore = null;
        foreach (var setting in classification.SessionSettings)
        {
            switch (setting.Kind)
            {
                case SessionSettingKind.Set when setting.Name is { } name && !SessionParameters.IsSyncable(name):
                    // SET SESSION AUTHORIZATION: an identity is not something to set on the next server behind the
                    // client's back, nor to leave to the next client.
                    Pin(SessionPinReasons.UntrackedSetting);
                    break;
                case SessionSettingKind.Reset when setting.Name is { } name:
                    foreach (var startup in _parameters.StartupSettings)
                    {
                        if (string.Equals(startup.Key, name, StringComparison.OrdinalIgnoreCase))
                        {
                            (restore ??= []).Add(startup);
                        }
                    }

                    break;
                case SessionSettingKind.ResetAll:
                case SessionSettingKind.DiscardAll:
                    if (setting.Kind == SessionSettingKind.DiscardAll)
                    {
                        ForgetStatements(server);
                    }

                    (restore ??= []).AddRange(_parameters.StartupSettings);
                    break;
            }
        }

        foreach (var statement in classification.Statements)
        {
            if (statement is { Kind: StatementKind.Deallocate, DeallocatesAll: true })
            {
                // DEALLOCATE ALL empties the server's statements, the shared copies included. DEALLOCATE name drops
                // a SQL-level PREPARE'd statement (which pinned the client), never one of the renamed shared copies.
                ForgetStatements(server);
            }
        }

        return restore is { Count: > 0 } ? restore : null;
    }

    /// <summary>Ties the client to its server until it leaves (transaction and statement modes).</summary>
    private void Pin(SessionPinReasons reasons)
    {
        if (Mode == PoolMode.Session)
        {
            return;
        }

        // Later reasons are kept too, so SHOW CLIENTS lists everything that holds the server; the log says it once.
        _pinReasons |= reasons;
        if (!_pinned)
        {
            _pinned = true;
            LogPinned(_logger, _userName, _databaseName, RemoteAddress, reasons.ToString());
        }
    }

    /// <summary>
    /// Records what the message will do to session settings, in the order the server runs it: a Query's statements, an
    /// Execute's (those of the statement its Bind named), and the end of a batch (Query, FunctionCall, Sync), which one
    /// ReadyForQuery answers.
    /// </summary>
    private void JournalSessionSettings(ServerConnection server, FrontendMessageCode code, in Inspection inspection)
    {
        switch (code)
        {
            case FrontendMessageCode.Query:
                lock (_linkLock)
                {
                    _settingsJournal.AddStatements(inspection.Classification, server.ReportedParameters);
                    _settingsJournal.EndBatch();
                }

                break;
            case FrontendMessageCode.FunctionCall:
                lock (_linkLock)
                {
                    _settingsJournal.Add(JournalEntry.Other);
                    _settingsJournal.EndBatch();
                }

                break;
            case FrontendMessageCode.Sync:
                lock (_linkLock)
                {
                    _settingsJournal.EndBatch();
                }

                break;
            case FrontendMessageCode.Parse:
                _settingsJournal.Add(JournalEntry.FailurePoint);
                if (inspection.Parse is not { } parse)
                {
                    // Too large to look at: whether it replaced the unnamed statement is not known.
                    _unnamedStatement = null;
                }
                else if (!IsNamed(parse.StatementName))
                {
                    _unnamedStatement = inspection.Classification;
                }

                break;
            case FrontendMessageCode.Bind:
                _settingsJournal.Add(JournalEntry.FailurePoint);
                _boundStatement = !IsNamed(inspection.StatementName) ? _unnamedStatement
                    : TryGetClientStatement(inspection.StatementName, out var named) ? named.Classification
                    : null;
                break;
            case FrontendMessageCode.Execute:
                _settingsJournal.AddStatements(_boundStatement, server.ReportedParameters);
                break;
            case FrontendMessageCode.Describe or FrontendMessageCode.Close:
                _settingsJournal.Add(JournalEntry.FailurePoint);
                break;
            default:
                break;
        }
    }

    /// <summary>
    /// The server answered a batch (ReadyForQuery): the settings that stuck become the client's and the server's, the
    /// ones rolled back are forgotten. When the replies cannot tell (an error in a batch that also committed), the client
    /// stays on this server, which knows, and the next client of the server gets those settings set or reset whatever
    /// they are. Pump, under _linkLock.
    /// </summary>
    private void SettleSessionSettingsLocked(ServerConnection server, TransactionStatus status)
    {
        var outcome = _settingsJournal.ReadyForQuery(status);
        if (outcome.InDoubt)
        {
            _settingsInDoubt = true;
            MarkSettingsUnknown(server, outcome.Touched!);
            Pin(SessionPinReasons.UntrackedSetting);
            return;
        }

        if (outcome.Committed.Count == 0)
        {
            return;
        }

        foreach (var setting in outcome.Committed)
        {
            _parameters.Apply(setting, server.ReportedParameters.ContainsKey);
        }

        if (_settingsInDoubt)
        {
            MarkSettingsUnknown(server, outcome.Committed);
            return;
        }

        // While lent, the server has exactly the client's settings (the sync made them so): it keeps them.
        server.UnreportedSettings.Clear();
        foreach (var (name, value) in _parameters.Values)
        {
            if (!server.ReportedParameters.ContainsKey(name))
            {
                server.UnreportedSettings[name] = value;
            }
        }
    }

    /// <summary>The server gets back from this client with settings in flight: nobody knows whether they stuck.</summary>
    private void AbandonSessionSettings(ServerConnection server)
    {
        List<SessionSetting> unsettled;
        lock (_linkLock)
        {
            unsettled = _settingsJournal.TakeUnsettled();
        }

        MarkSettingsUnknown(server, unsettled);
    }

    /// <summary>The next client of the server sets or resets these whatever it has.</summary>
    private static void MarkSettingsUnknown(ServerConnection server, IEnumerable<SessionSetting> settings)
    {
        foreach (var setting in settings)
        {
            if (setting.Kind is SessionSettingKind.ResetAll or SessionSettingKind.DiscardAll)
            {
                foreach (var name in server.UnreportedSettings.Keys.ToList())
                {
                    server.UnreportedSettings[name] = SessionParameters.UnknownValue;
                }
            }
            else if (setting.Name is { } name && !server.ReportedParameters.ContainsKey(name))
            {
                server.UnreportedSettings[name] = SessionParameters.UnknownValue;
            }
        }
    }

    /// <summary>
    /// Puts the client's startup settings back after its reset, with replies the client never sees: a simple Query
    /// after a simple Query, or Parse/Bind/Execute/Close inside an extended-protocol batch (its own Sync ends it).
    /// </summary>
    private void InjectRestore(ServerLease lease, List<KeyValuePair<string, string>> settings, bool simpleQuery)
    {
        var server = lease.Server;
        var sql = SessionParameters.SetConfigSql(settings);
        var output = server.Connection.Output;
        lock (_linkLock)
        {
            if (simpleQuery)
            {
                MessageWriter.WriteQuery(output, sql);
                lease.Replies.Enqueue(new PendingReply(ReplyTo.Query, ReplyAction.Swallow));
                lease.PendingReady++;
                _settingsJournal.AddSettings(settings, server.ReportedParameters);
                _settingsJournal.EndBatch();
            }
            else
            {
                const string Name = "sluice_restore";
                MessageWriter.WriteParse(output, Name, sql, []);
                MessageWriter.WriteBind(output, "", Name);
                MessageWriter.WriteExecute(output, "");
                MessageWriter.WriteClose(output, (byte)'S', Name);
                lease.Replies.Enqueue(new PendingReply(ReplyTo.Parse, ReplyAction.Swallow));
                lease.Replies.Enqueue(new PendingReply(ReplyTo.Bind, ReplyAction.Swallow));
                lease.Replies.Enqueue(new PendingReply(ReplyTo.Execute, ReplyAction.Swallow));
                lease.Replies.Enqueue(new PendingReply(ReplyTo.Close, ReplyAction.Swallow));
                _settingsJournal.AddSettings(settings, server.ReportedParameters);
            }
        }
    }
}
