using Sluice.Protocol.Messages;
using Sluice.Proxy.Clients;
using Sluice.Routing.Classification;

namespace Sluice.Proxy.Tests.Clients;

/// <summary>
/// The journal replays what the client sent against ReadyForQuery (and ErrorResponse): a setting is the client's only
/// when its transaction committed, the way PostgreSQL keeps or undoes it.
/// </summary>
public sealed class SessionSettingsJournalTests
{
    private const TransactionStatus Idle = TransactionStatus.Idle;
    private const TransactionStatus InBlock = TransactionStatus.InTransaction;
    private const TransactionStatus Failed = TransactionStatus.Failed;

    private static readonly SqlClassifier Classifier = new();
    private static readonly Dictionary<string, string> NoneReported = [];

    private readonly SessionSettingsJournal _journal = new();

    [Fact]
    public void A_set_outside_a_transaction_sticks_when_it_succeeds()
    {
        Query("SET search_path TO a");

        Assert.Equal(["search_path=a"], Committed(Idle));
    }

    [Fact]
    public void A_set_in_a_transaction_sticks_at_commit_only()
    {
        Query("BEGIN");
        Assert.Empty(Committed(InBlock));
        Query("SET search_path TO a");
        Assert.Empty(Committed(InBlock));
        Query("SELECT pg_catalog.set_config('statement_timeout', '5s', false)");
        Assert.Empty(Committed(InBlock));
        Query("COMMIT");

        Assert.Equal(["search_path=a", "statement_timeout=5s"], Committed(Idle));
    }

    [Theory]
    [InlineData("ROLLBACK")]
    [InlineData("ABORT")]
    [InlineData("COMMIT")] // of a failed transaction: PostgreSQL rolls it back
    public void A_set_in_a_transaction_that_is_rolled_back_is_forgotten(string end)
    {
        Query("BEGIN; SET search_path TO a");
        Assert.Empty(Committed(InBlock));
        if (end == "COMMIT")
        {
            Query("SELECT 1/0");
            Assert.Empty(Committed(Failed, failed: true));
        }

        Query(end);

        Assert.Empty(Committed(Idle));
        Query("SELECT 1");
        Assert.Empty(Committed(Idle));
    }

    [Fact]
    public void A_set_in_a_batch_that_fails_outside_a_block_is_rolled_back_with_it()
    {
        Query("SET search_path TO a; SELECT 1/0");

        Assert.Empty(Committed(Idle, failed: true));
    }

    [Fact]
    public void A_commit_that_fails_rolls_the_settings_back_without_doubt()
    {
        Query("BEGIN");
        Committed(InBlock);
        Query("SET search_path TO a");
        Committed(InBlock);
        Query("COMMIT");
        _journal.NoteError(); // a deferred constraint

        var outcome = _journal.ReadyForQuery(Idle);

        Assert.False(outcome.InDoubt);
        Assert.Empty(outcome.Committed);
    }

    [Fact]
    public void Rollback_to_a_savepoint_undoes_only_what_came_after_it()
    {
        Query("BEGIN; SET a.x = 1; SAVEPOINT s1; SET a.y = 2; SAVEPOINT s2; SET a.z = 3");
        Committed(InBlock);
        Query("ROLLBACK TO SAVEPOINT s1");
        Committed(InBlock);
        Query("SET a.w = 4; RELEASE s1");
        Committed(InBlock);
        Query("COMMIT");

        Assert.Equal(["a.x=1", "a.w=4"], Committed(Idle));
    }

    [Fact]
    public void An_error_after_a_savepoint_is_undone_by_rolling_back_to_it()
    {
        Query("BEGIN; SET a.x = 1; SAVEPOINT s");
        Committed(InBlock);
        Query("SET a.y = 2; SELECT 1/0");
        Assert.Empty(Committed(Failed, failed: true));
        Query("ROLLBACK TO s");
        Committed(InBlock);
        Query("COMMIT");

        Assert.Equal(["a.x=1"], Committed(Idle));
    }

    [Fact]
    public void An_error_in_a_batch_that_also_committed_leaves_the_outcome_in_doubt()
    {
        // Did SELECT 1/0 fail after the COMMIT (a.x stuck) or did SET fail before it? The replies do not say.
        Query("SET a.x = 1; COMMIT; SELECT 1/0");
        _journal.NoteError();

        var outcome = _journal.ReadyForQuery(Idle);

        Assert.True(outcome.InDoubt);
        Assert.Equal("a.x", Assert.Single(outcome.Touched!).Name);
    }

    [Fact]
    public void An_extended_protocol_batch_counts_at_its_sync()
    {
        ParseBindExecute("SET search_path TO a");
        ParseBindExecute("SELECT 1");
        _journal.EndBatch();

        Assert.Equal(["search_path=a"], Committed(Idle));
    }

    [Fact]
    public void A_failed_parse_in_an_extended_batch_rolls_the_batch_back()
    {
        ParseBindExecute("SET search_path TO a");
        _journal.Add(JournalEntry.FailurePoint);
        _journal.EndBatch();

        Assert.Empty(Committed(Idle, failed: true));
    }

    [Fact]
    public void Pipelined_batches_are_settled_in_order()
    {
        Query("BEGIN; SET a.x = 1");
        Query("ROLLBACK");
        Query("SET a.y = 2");

        Assert.Empty(Committed(InBlock));
        Assert.Empty(Committed(Idle));
        Assert.Equal(["a.y=2"], Committed(Idle));
    }

    [Fact]
    public void Reported_settings_are_left_to_parameter_status()
    {
        _journal.AddStatements(Classifier.Classify("SET TimeZone = 'UTC'"), new Dictionary<string, string> { ["TimeZone"] = "Asia/Tokyo" });
        _journal.EndBatch();

        Assert.Empty(Committed(Idle));
    }

    [Fact]
    public void Settings_in_flight_when_the_client_leaves_are_unsettled()
    {
        Query("BEGIN; SET a.x = 1");
        Committed(InBlock);
        Query("SET a.y = 2");
        _journal.Add(new JournalEntry(JournalStep.Setting, new SessionSetting(SessionSettingKind.Set, "a.z", "3", null)));

        Assert.Equal(["a.y", "a.z", "a.x"], _journal.TakeUnsettled().Select(setting => setting.Name));
        Assert.Empty(_journal.TakeUnsettled());
    }

    [Fact]
    public void Reset_and_reset_all_are_settled_like_set()
    {
        Query("BEGIN; RESET search_path; RESET ALL");
        Committed(InBlock);
        Query("COMMIT");

        var outcome = _journal.ReadyForQuery(Idle);

        Assert.Equal([SessionSettingKind.Reset, SessionSettingKind.ResetAll], outcome.Committed.Select(setting => setting.Kind));
    }

    private void Query(string sql)
    {
        _journal.AddStatements(Classifier.Classify(sql), NoneReported);
        _journal.EndBatch();
    }

    private void ParseBindExecute(string sql)
    {
        _journal.Add(JournalEntry.FailurePoint);
        _journal.Add(JournalEntry.FailurePoint);
        _journal.AddStatements(Classifier.Classify(sql), NoneReported);
    }

    private List<string> Committed(TransactionStatus status, bool failed = false)
    {
        if (failed)
        {
            _journal.NoteError();
        }

        var outcome = _journal.ReadyForQuery(status);
        Assert.False(outcome.InDoubt);
        return [.. outcome.Committed.Select(setting => $"{setting.Name}={setting.Value}")];
    }
}
