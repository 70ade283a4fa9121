using System.Buffers;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Statements;

namespace Sluice.Proxy.Tests.Statements;

/// <summary>What the proxy learns from servers about shared statements, and when that stops holding.</summary>
public sealed class StatementKnowledgeTests
{
    private static readonly string Context = StatementContext.Of("shop", "app", null);

    [Fact]
    public void Only_a_text_a_server_parsed_in_the_same_context_and_schema_epoch_is_found_parsed()
    {
        var cache = new PreparedStatementCache();
        var statement = cache.GetOrAdd("SELECT $1::int", [23]);
        Assert.Null(cache.FindParsed("SELECT $1::int", [23], Context));

        statement.NoteParsed(new KnowledgeStamp(Context, cache.SchemaEpoch));

        Assert.Same(statement, cache.FindParsed("SELECT $1::int", [23], Context));
        Assert.Null(cache.FindParsed("SELECT $1::int", [25], Context));
        Assert.Null(cache.FindParsed("SELECT $1::int", [23], StatementContext.Of("shop", "app", "other_schema")));
        Assert.Null(cache.FindParsed("SELECT $1::int", [23], StatementContext.Of("other_db", "app", null)));

        cache.NoteSchemaChange();
        Assert.Null(cache.FindParsed("SELECT $1::int", [23], Context));
    }

    [Fact]
    public void A_description_is_kept_by_a_later_parse_in_the_same_epoch_and_dropped_by_one_in_another()
    {
        var cache = new PreparedStatementCache();
        var statement = cache.GetOrAdd("SELECT 1", []);
        var stamp = new KnowledgeStamp(Context, cache.SchemaEpoch);
        statement.NoteDescribed(stamp, [(byte)'t', 0, 0, 0, 6, 0, 0], [(byte)'n', 0, 0, 0, 4]);

        statement.NoteParsed(stamp);
        Assert.True(statement.Knowledge!.IsDescribed);

        cache.NoteSchemaChange();
        statement.NoteParsed(new KnowledgeStamp(Context, cache.SchemaEpoch));
        Assert.False(statement.Knowledge!.IsDescribed);

        statement.ForgetKnowledge();
        Assert.Null(cache.FindParsed("SELECT 1", [], Context));
    }

    [Fact]
    public void A_statement_learned_before_a_schema_change_is_retired_when_prepared_on_a_server_again()
    {
        var cache = new PreparedStatementCache();
        var before = cache.GetOrAdd("SELECT * FROM t", []);
        before.NoteParsed(new KnowledgeStamp(Context, cache.SchemaEpoch));
        Assert.Same(before, cache.GetOrAddCurrent("SELECT * FROM t", []));

        cache.NoteSchemaChange();
        var after = cache.GetOrAddCurrent("SELECT * FROM t", []);

        Assert.NotEqual(before.ServerName, after.ServerName);
        Assert.Null(after.Knowledge);
        Assert.Same(after, cache.GetOrAddCurrent("SELECT * FROM t", []));
    }

    [Fact]
    public void The_reply_queue_learns_parse_completions_and_describe_replies_but_not_made_up_ones()
    {
        var cache = new PreparedStatementCache();
        var statement = cache.GetOrAdd("SELECT $1::text", [25]);
        var stamp = new KnowledgeStamp(Context, cache.SchemaEpoch);
        var queue = new ReplyQueue();

        queue.Learn(new PendingReply(ReplyTo.Parse, ReplyAction.Fake, statement, "s", stamp), BackendMessageCode.ParseComplete, default);
        Assert.Null(statement.Knowledge);
        queue.Learn(new PendingReply(ReplyTo.Parse, ReplyAction.Swallow, statement, "s", stamp), BackendMessageCode.ParseComplete, default);
        Assert.NotNull(statement.Knowledge);

        byte[] parameters = [(byte)'t', 0, 0, 0, 10, 0, 1, 0, 0, 0, 25];
        byte[] noData = [(byte)'n', 0, 0, 0, 4];
        var describe = new PendingReply(ReplyTo.Describe, ReplyAction.Learn, statement, "s", stamp);
        queue.Learn(describe, BackendMessageCode.ParameterDescription, new ReadOnlySequence<byte>(parameters));
        Assert.False(statement.Knowledge!.IsDescribed);
        queue.Learn(describe, BackendMessageCode.NoData, new ReadOnlySequence<byte>(noData));

        Assert.Equal(parameters, statement.Knowledge!.ParameterDescription);
        Assert.Equal(noData, statement.Knowledge.ResultDescription);
    }
}
