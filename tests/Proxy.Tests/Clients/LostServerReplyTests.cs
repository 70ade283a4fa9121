namespace Sluice.Proxy.Tests.Clients;

/// <summary>
/// What a client in transaction mode is told when its server dies with replies still owed (FATAL 57P01, then the
/// connection closes), over in-memory connections so that the pipelined cases happen exactly: one answer per
/// statement it sent, as PostgreSQL fails statements, and its connection goes on.
/// </summary>
public sealed class LostServerReplyTests : IAsyncLifetime
{
    private const string Config = """
        [pool]
        mode = "transaction"
        size = 2

        [routing]
        failover_wait = "0"

        [[users]]
        name = "app"
        auth = "trust"

        [[databases]]
        name = "db"
        servers = [ { host = "127.0.0.1", port = 5432, role = "primary" } ]
        """;

    private const string Lost = "server connection lost: terminating connection due to administrator command";

    private readonly InMemoryProxy _proxy = new(Config);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _proxy.DisposeAsync();

    [Fact]
    public async Task Pipelined_statements_in_a_block_get_08006_then_25P02_and_ROLLBACK_ends_the_block()
    {
        await using var client = await _proxy.ConnectAsync();
        Assert.Equal("BEGIN", await client.QueryAsync("BEGIN"));

        var answers = await client.PipelineAsync(InMemoryBackend.Die, "SELECT 2");

        Assert.Equal('E', answers[0].Status);
        Assert.Contains("ERROR", answers[0].Answer, StringComparison.Ordinal);
        Assert.Contains("08006", answers[0].Answer, StringComparison.Ordinal);
        Assert.Contains(Lost, answers[0].Answer, StringComparison.Ordinal);
        Assert.Equal('E', answers[1].Status);
        Assert.Contains("25P02", answers[1].Answer, StringComparison.Ordinal);

        // Still in the failed block: refused by the proxy until ROLLBACK, which it answers itself.
        var aborted = await client.PipelineAsync("SELECT 3");
        Assert.Contains("25P02", aborted[0].Answer, StringComparison.Ordinal);
        Assert.Equal('E', aborted[0].Status);
        Assert.Equal([("ROLLBACK", 'I')], await client.PipelineAsync("ROLLBACK"));

        Assert.Equal([("after", 'I')], await client.PipelineAsync("after"));
        Assert.Equal(2, _proxy.Backends);
    }

    [Fact]
    public async Task A_DISCARD_ALL_ahead_of_a_lost_statement_succeeds_and_the_statement_gets_08006()
    {
        await using var client = await _proxy.ConnectAsync();

        // What Npgsql sends on a pooled connection it hands out again: its reset, then the application's command.
        var answers = await client.PipelineAsync("DISCARD ALL", InMemoryBackend.Die);

        Assert.Equal(("DISCARD ALL", 'I'), answers[0]);
        Assert.Contains("08006", answers[1].Answer, StringComparison.Ordinal);
        Assert.Contains(Lost, answers[1].Answer, StringComparison.Ordinal);
        Assert.Equal('I', answers[1].Status);
        Assert.Equal([("after", 'I')], await client.PipelineAsync("after"));
    }

    [Fact]
    public async Task Autocommit_statements_after_a_lost_one_in_the_same_batch_each_get_their_error_and_none_runs_elsewhere()
    {
        await using var client = await _proxy.ConnectAsync();
        Assert.Equal("warm", await client.QueryAsync("warm"));

        var answers = await client.PipelineAsync(InMemoryBackend.Die, "INSERT 1", "INSERT 2");

        Assert.All(answers, answer =>
        {
            Assert.Contains("08006", answer.Answer, StringComparison.Ordinal);
            Assert.Equal('I', answer.Status);
        });
        Assert.Equal([("after", 'I')], await client.PipelineAsync("after"));
    }
}
