using Sluice.Protocol.Messages;
using Sluice.Routing.Classification;

namespace Sluice.Proxy.Clients;

/// <summary>What one statement (or one message that may fail) of a batch means for session settings.</summary>
internal enum JournalStep : byte
{
    /// <summary>A statement that changes no tracked setting.</summary>
    Other,

    /// <summary>A Parse, Bind, Describe or Close: it runs nothing but may fail, which ends the batch there.</summary>
    FailurePoint,

    /// <summary>SET / RESET / RESET ALL / DISCARD ALL / set_config(..., false) of a setting the server does not report.</summary>
    Setting,

    Begin,

    /// <summary>COMMIT / END / PREPARE TRANSACTION.</summary>
    Commit,

    /// <summary>ROLLBACK / ABORT.</summary>
    Rollback,

    Savepoint,
    RollbackToSavepoint,
    ReleaseSavepoint,
}

/// <summary>One step of a batch; a <see cref="JournalStep.Savepoint"/> step also marks its place among the pending settings.</summary>
internal readonly record struct JournalEntry(JournalStep Step, SessionSetting? Setting = null, string? Savepoint = null, bool Chain = false)
{
    public static readonly JournalEntry Other = new(JournalStep.Other);

    public static readonly JournalEntry FailurePoint = new(JournalStep.FailurePoint);
}

/// <summary>
/// What a ReadyForQuery settled: the settings that are now the client's for good (in order), or, when the replies cannot
/// tell what happened (an error in a batch that also committed or used savepoints), that nothing is certain any more about
/// the <see cref="Touched"/> settings.
/// </summary>
internal readonly record struct JournalOutcome(IReadOnlyList<SessionSetting> Committed, bool InDoubt = false, IReadOnlyList<SessionSetting>? Touched = null)
{
    public static readonly JournalOutcome Nothing = new([]);
}

/// <summary>
/// Session settings a client's statements change, kept until PostgreSQL says whether they stuck. A SET inside a
/// transaction that is rolled back (or fails, or is rolled back to an earlier savepoint) is undone by the server, so the
/// proxy must not carry it to the client's next server, and must not believe the server still has it. PostgreSQL reports
/// only some settings (ParameterStatus); for the rest (search_path, statement_timeout, …) this journal replays each batch
/// of statements against what ReadyForQuery and ErrorResponse say: the transaction status after it, and whether it failed.
/// </summary>
/// <remarks>
/// The client loop adds steps as it forwards messages and ends a batch at each Query, FunctionCall or Sync (one
/// ReadyForQuery each); the pump settles one batch per ReadyForQuery. The caller serializes the two (its link lock).
/// A failed batch stopped at an unknown step: every place it could have stopped is tried, and the outcome counts only
/// when all the places that fit the new transaction status agree.
/// </remarks>
internal sealed class SessionSettingsJournal
{
    private readonly Queue<List<JournalEntry>?> _sent = new();
    private List<JournalEntry>? _open;
    private JournalStep? _openLeading;
    private List<JournalEntry> _pending = [];
    private TransactionStatus _status = TransactionStatus.Idle;
    private bool _failed;

    /// <summary>Steps of the batch being sent. Client loop.</summary>
    public void Add(JournalEntry entry)
    {
        if (entry.Step is JournalStep.Other or JournalStep.FailurePoint)
        {
            if (_open is null)
            {
                // Steps that change nothing only matter once something does: remember that there were some.
                _openLeading = _openLeading == JournalStep.Other ? JournalStep.Other : entry.Step;
            }
            else if (_open[^1] != entry)
            {
                _open.Add(entry);
            }

            return;
        }

        if (_open is null)
        {
            _open = [];
            if (_openLeading is { } leading)
            {
                _open.Add(new JournalEntry(leading));
            }
        }

        _open.Add(entry);
    }

    /// <summary>The steps of a classified text; a text that was not classified (too large to look at) is one plain statement.</summary>
    public void AddStatements(ClassificationResult? classification, IReadOnlyDictionary<string, string> reported)
    {
        if (classification is null)
        {
            Add(JournalEntry.Other);
            return;
        }

        foreach (var statement in classification.Statements)
        {
            switch (statement.Kind)
            {
                case StatementKind.Begin:
                    Add(new JournalEntry(JournalStep.Begin));
                    continue;
                case StatementKind.Commit or StatementKind.PrepareTransaction:
                    Add(new JournalEntry(JournalStep.Commit, Chain: statement.AndChain));
                    continue;
                case StatementKind.Rollback:
                    Add(new JournalEntry(JournalStep.Rollback, Chain: statement.AndChain));
                    continue;
                case StatementKind.Savepoint:
                    Add(new JournalEntry(JournalStep.Savepoint, Savepoint: statement.SavepointName));
                    continue;
                case StatementKind.RollbackToSavepoint:
                    Add(new JournalEntry(JournalStep.RollbackToSavepoint, Savepoint: statement.SavepointName));
                    continue;
                case StatementKind.ReleaseSavepoint:
                    Add(new JournalEntry(JournalStep.ReleaseSavepoint, Savepoint: statement.SavepointName));
                    continue;
                default:
                    break;
            }

            var tracked = false;
            foreach (var setting in statement.SessionSettings)
            {
                if (IsTracked(setting, reported))
                {
                    Add(new JournalEntry(JournalStep.Setting, setting));
                    tracked = true;
                }
            }

            if (!tracked)
            {
                Add(JournalEntry.Other);
            }
        }
    }

    /// <summary>Settings the proxy itself sends in the batch (the startup values a RESET takes back).</summary>
    public void AddSettings(IEnumerable<KeyValuePair<string, string>> settings, IReadOnlyDictionary<string, string> reported)
    {
        foreach (var (name, value) in settings)
        {
            var setting = new SessionSetting(SessionSettingKind.Set, name, value, null);
            if (IsTracked(setting, reported))
            {
                Add(new JournalEntry(JournalStep.Setting, setting));
            }
        }
    }

    /// <summary>The batch ends: one ReadyForQuery will answer it. Caller holds the link lock.</summary>
    public void EndBatch()
    {
        _sent.Enqueue(_open);
        _open = null;
        _openLeading = null;
    }

    /// <summary>The batch being answered failed (an ErrorResponse). Pump.</summary>
    public void NoteError() => _failed = true;

    /// <summary>A new lease starts on a server that is idle: nothing is in flight.</summary>
    public void Clear()
    {
        _sent.Clear();
        _open = null;
        _openLeading = null;
        _pending = [];
        _status = TransactionStatus.Idle;
        _failed = false;
    }

    /// <summary>
    /// Every setting sent and not settled (the batch being sent, batches without their ReadyForQuery yet, the open
    /// transaction's): the server may or may not have them. Then forgets them.
    /// </summary>
    public List<SessionSetting> TakeUnsettled()
    {
        var unsettled = new List<SessionSetting>();
        foreach (var batch in _sent.Append(_open).Append(_pending))
        {
            foreach (var entry in batch ?? [])
            {
                if (entry.Setting is { } setting)
                {
                    unsettled.Add(setting);
                }
            }
        }

        Clear();
        return unsettled;
    }

    /// <summary>Settles the oldest batch sent with the transaction status the server reports after it. Pump, under the link lock.</summary>
    public JournalOutcome ReadyForQuery(TransactionStatus status)
    {
        var batch = _sent.Count > 0 ? _sent.Dequeue() : null;
        var failed = _failed;
        _failed = false;
        if (batch is null && _pending.Count == 0)
        {
            // The common case: nothing tracked in flight.
            _status = status;
            return JournalOutcome.Nothing;
        }

        var steps = (IReadOnlyList<JournalEntry>?)batch ?? [JournalEntry.Other];

        var start = new Replay(_pending, _status);
        Replay? settled = null;
        var agreed = true;
        if (!failed)
        {
            var replay = start.Copy();
            if (replay.Run(steps, steps.Count) && replay.Finish(status))
            {
                settled = replay;
            }
        }
        else
        {
            // The failing step is not known: try each; the batch stopped there.
            for (var at = 0; at <= steps.Count && agreed; at++)
            {
                var replay = start.Copy();
                if (!replay.Run(steps, at) || !replay.Fail(at < steps.Count ? steps[at] : null) || !replay.Matches(status))
                {
                    continue;
                }

                if (settled is null)
                {
                    settled = replay;
                }
                else if (!settled.SameOutcome(replay))
                {
                    agreed = false;
                }
            }
        }

        _status = status;
        if (settled is null || !agreed || settled.Lost)
        {
            var touched = new List<SessionSetting>();
            foreach (var entry in _pending.Concat(steps))
            {
                if (entry.Setting is { } setting)
                {
                    touched.Add(setting);
                }
            }

            _pending = [];
            return touched.Count == 0 ? JournalOutcome.Nothing : new JournalOutcome([], InDoubt: true, Touched: touched);
        }

        _pending = settled.Pending;
        return settled.Committed.Count == 0 ? JournalOutcome.Nothing : new JournalOutcome(settled.Committed);
    }

    /// <summary>Reported settings come back from the server in ParameterStatus, rolled back or not; the others are journaled.</summary>
    private static bool IsTracked(SessionSetting setting, IReadOnlyDictionary<string, string> reported) => setting.Kind switch
    {
        SessionSettingKind.Set or SessionSettingKind.Reset => setting.Name is { } name && !reported.ContainsKey(name) && SessionParameters.IsSyncable(name),
        SessionSettingKind.ResetAll or SessionSettingKind.DiscardAll => true,
        _ => false,
    };

    /// <summary>One way the batch may have gone, replayed step by step the way PostgreSQL runs statements.</summary>
    private sealed class Replay
    {
        private bool _inBlock;
        private bool _aborted;
        private bool _implicitOpen;

        public Replay(List<JournalEntry> pending, TransactionStatus status)
        {
            Pending = pending;
            _inBlock = status != TransactionStatus.Idle;
            _aborted = status == TransactionStatus.Failed;
        }

        private Replay(Replay other)
        {
            Pending = [.. other.Pending];
            Committed = [.. other.Committed];
            _inBlock = other._inBlock;
            _aborted = other._aborted;
            _implicitOpen = other._implicitOpen;
            Lost = other.Lost;
        }

        /// <summary>Settings (and savepoint marks) of the transaction still open.</summary>
        public List<JournalEntry> Pending { get; }

        public List<SessionSetting> Committed { get; } = [];

        /// <summary>A savepoint without a name the proxy could read: what it undoes cannot be followed.</summary>
        public bool Lost { get; private set; }

        public Replay Copy() => new(this);

        /// <summary>Runs the first <paramref name="count"/> steps successfully; false when that cannot have happened.</summary>
        public bool Run(IReadOnlyList<JournalEntry> steps, int count)
        {
            for (var i = 0; i < count; i++)
            {
                if (!Step(steps[i]))
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>The batch ran to its end: an implicit transaction (no BEGIN) commits.</summary>
        public bool Finish(TransactionStatus status)
        {
            if (status == TransactionStatus.Idle && !_inBlock)
            {
                CommitPending();
            }

            return Matches(status);
        }

        /// <summary>
        /// <paramref name="step"/> failed (null: the implicit commit at the end of the batch did). A failure in a
        /// transaction block aborts it; outside one, it rolls back the implicit transaction.
        /// </summary>
        public bool Fail(JournalEntry? step)
        {
            if (step is null)
            {
                if (_inBlock || !_implicitOpen)
                {
                    return false;
                }

                RollBack();
                return true;
            }

            switch (step.Value.Step)
            {
                case JournalStep.Rollback:
                    return false;
                case JournalStep.Commit when _aborted:
                    // COMMIT of a failed transaction rolls it back; it does not fail.
                    return false;
                case JournalStep.Commit:
                    RollBack();
                    _inBlock = false;
                    return true;
                default:
                    if (_inBlock)
                    {
                        // Only a rollback (to a savepoint) can follow, and either undoes everything after the last
                        // savepoint.
                        _aborted = true;
                        Pending.RemoveRange(LastMark() + 1, Pending.Count - LastMark() - 1);
                    }
                    else
                    {
                        RollBack();
                    }

                    return true;
            }
        }

        public bool Matches(TransactionStatus status) => status switch
        {
            TransactionStatus.Idle => !_inBlock,
            TransactionStatus.InTransaction => _inBlock && !_aborted,
            _ => _inBlock && _aborted,
        };

        public bool SameOutcome(Replay other) =>
            Lost == other.Lost && Committed.SequenceEqual(other.Committed) && Pending.SequenceEqual(other.Pending);

        private bool Step(JournalEntry entry)
        {
            if (_aborted && entry.Step is not (JournalStep.Other or JournalStep.FailurePoint or JournalStep.Commit
                or JournalStep.Rollback or JournalStep.RollbackToSavepoint))
            {
                // In a failed transaction block anything else fails.
                return false;
            }

            switch (entry.Step)
            {
                case JournalStep.Other or JournalStep.Setting:
                    if (entry.Setting is not null)
                    {
                        Pending.Add(entry);
                    }

                    _implicitOpen |= !_inBlock;
                    return true;
                case JournalStep.FailurePoint:
                    return true;
                case JournalStep.Begin:
                    // Statements before BEGIN in the same Query join the block.
                    _inBlock = true;
                    return true;
                case JournalStep.Commit:
                    if (_aborted)
                    {
                        RollBack();
                    }
                    else
                    {
                        CommitPending();
                    }

                    _inBlock = entry.Chain;
                    return true;
                case JournalStep.Rollback:
                    RollBack();
                    _inBlock = entry.Chain;
                    return true;
                case JournalStep.Savepoint:
                    if (!_inBlock)
                    {
                        return false;
                    }

                    Lost |= entry.Savepoint is null;
                    Pending.Add(entry);
                    return true;
                case JournalStep.RollbackToSavepoint or JournalStep.ReleaseSavepoint:
                    var mark = entry.Savepoint is null ? -1 : Pending.FindLastIndex(p => p.Step == JournalStep.Savepoint && p.Savepoint == entry.Savepoint);
                    if (!_inBlock || (mark < 0 && entry.Savepoint is not null && !Lost))
                    {
                        // No such savepoint: the statement fails.
                        return false;
                    }

                    if (mark < 0)
                    {
                        Lost = true;
                        return true;
                    }

                    if (entry.Step == JournalStep.RollbackToSavepoint)
                    {
                        // The savepoint stays; what came after it is undone.
                        Pending.RemoveRange(mark + 1, Pending.Count - mark - 1);
                        _aborted = false;
                    }
                    else
                    {
                        // RELEASE keeps the settings and forgets this savepoint and the ones after it.
                        for (var i = Pending.Count - 1; i >= mark; i--)
                        {
                            if (Pending[i].Step == JournalStep.Savepoint)
                            {
                                Pending.RemoveAt(i);
                            }
                        }
                    }

                    return true;
                default:
                    return true;
            }
        }

        private int LastMark() => Pending.FindLastIndex(p => p.Step == JournalStep.Savepoint);

        private void CommitPending()
        {
            foreach (var entry in Pending)
            {
                if (entry.Setting is { } setting)
                {
                    Committed.Add(setting);
                }
            }

            Pending.Clear();
            _aborted = false;
            _implicitOpen = false;
        }

        private void RollBack()
        {
            Pending.Clear();
            _aborted = false;
            _implicitOpen = false;
        }
    }
}
