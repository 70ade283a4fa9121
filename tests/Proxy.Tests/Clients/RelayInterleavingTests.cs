using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Sluice.Protocol.Framing;
using Sluice.Protocol.Messages;
using Sluice.Proxy.Clients;
using Sluice.Proxy.Configuration;
using Sluice.Proxy.Runtime;
using Sluice.Proxy.Transport;

namespace Sluice.Proxy.Tests.Clients;

/// <summary>
/// The relay over in-memory connections, where the interleavings that once failed (commit 6c7f624) happen on every
/// run: the pipes continue inline, so a server's answer arrives, is forwarded and ends the lease while the client
/// loop is still inside its flush to that server, and a waiting client is handed the server from inside the first
/// client's pump. Both sides speak the real protocol; what is asserted is what clients see.
/// </summary>
public sealed class RelayInterleavingTests : IAsyncLifetime
{
    private const string Config = """
        [pool]
        mode = "transaction"
        size = 1
        checkout_timeout = "5s"

        [[users]]
        name = "app"
        auth = "trust"

        [[databases]]
        name = "db"
        servers = [ { host = "127.0.0.1", port = 5432, role = "primary" } ]
        """;

    private readonly ProxyRuntime _runtime = new(ConfigLoader.Parse(Config, "proxy.toml"), NullLoggerFactory.Instance);
    private readonly ConcurrentQueue<Task> _running = new();
    private int _backends;

    public Task InitializeAsync()
    {
        _runtime.Pools.OpenConnection = (_, _) =>
        {
            var (proxySide, serverSide) = InMemoryConnection.CreatePair();
            _running.Enqueue(Task.Run(() => Backend.ServeAsync(serverSide, Interlocked.Increment(ref _backends))));
            return ValueTask.FromResult<DuplexConnection>(proxySide);
        };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        // Closing the pools says Terminate to the backends; every loop this test started must then have ended cleanly.
        await _runtime.DisposeAsync();
        await Task.WhenAll(_running).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_server_answering_inside_the_clients_flush_goes_back_to_the_pool_once()
    {
        await using var first = await ConnectAsync();
        await using var second = await ConnectAsync();
        for (var n = 0; n < 20; n++)
        {
            // One server for both: each answer arrives before the sender's flush returns, and the lease ends there.
            Assert.Equal($"first {n}", await first.QueryAsync($"first {n}"));
            Assert.Equal($"second {n}", await second.QueryAsync($"second {n}"));
        }

        var pool = Assert.Single(_runtime.Pools.Pools);
        Assert.Equal(1, pool.TotalCount);
        Assert.Equal(1, _backends);
    }

    [Fact]
    public async Task A_waiting_client_gets_the_server_only_after_the_first_clients_pump_is_done_with_it()
    {
        await using var first = await ConnectAsync();
        await using var second = await ConnectAsync();
        Assert.Equal("BEGIN", await first.QueryAsync("BEGIN"));

        // The second client waits for the only server, held by the first one's transaction.
        var waiting = second.QueryAsync("second");
        var pool = Assert.Single(_runtime.Pools.Pools);
        await WaitUntilAsync(() => pool.WaitingCount == 1);

        // COMMIT's ReadyForQuery ends the lease inside the first client's pump; the waiter is handed the server there.
        Assert.Equal("COMMIT", await first.QueryAsync("COMMIT"));
        Assert.Equal("second", await waiting);
        Assert.Equal("first again", await first.QueryAsync("first again"));
        Assert.Equal(1, _backends);
    }

    private async Task<WireClient> ConnectAsync()
    {
        var (proxySide, clientSide) = InMemoryConnection.CreatePair();
        var session = new ClientSession(_runtime, proxySide);
        _running.Enqueue(Task.Run(session.RunAsync));
        var client = new WireClient(clientSide);
        await client.LoginAsync();
        return client;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        // Bounded: 10 s at most, then the test fails on the assertion that follows it.
        for (var i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }

    /// <summary>A client speaking the frontend protocol over one in-memory end.</summary>
    private sealed class WireClient(InMemoryConnection end) : IAsyncDisposable
    {
        public async Task LoginAsync()
        {
            MessageWriter.WriteStartupMessage(end.Output, [new("user", "app"), new("database", "db")]);
            await end.Output.FlushAsync();
            while ((await Frames.ReadAsync(end.Input)).Code != (byte)'Z')
            {
            }
        }

        /// <summary>Sends a simple Query; returns its CommandComplete tag, or the error's SQLSTATE and message.</summary>
        public async Task<string> QueryAsync(string sql)
        {
            MessageWriter.WriteQuery(end.Output, sql);
            await end.Output.FlushAsync();
            var answer = "";
            while (true)
            {
                var (code, payload) = await Frames.ReadAsync(end.Input);
                switch (code)
                {
                    case (byte)'C':
                        answer = Encoding.UTF8.GetString(payload).TrimEnd('\0');
                        break;
                    case (byte)'E':
                        answer = "error: " + Encoding.UTF8.GetString(payload).Replace('\0', ' ');
                        break;
                    case (byte)'Z':
                        return answer;
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            MessageWriter.WriteTerminate(end.Output);
            await end.Output.FlushAsync();
            await end.DisposeAsync();
        }
    }

    /// <summary>
    /// The server side of a backend connection: logs in with trust and answers each simple Query with its own text as
    /// the command tag. BEGIN opens a transaction block and COMMIT ends it, as the ReadyForQuery status says.
    /// </summary>
    private static class Backend
    {
        public static async Task ServeAsync(InMemoryConnection end, int processId)
        {
            var input = end.Input;
            var output = end.Output;
            await ReadStartupAsync(input, output);
            MessageWriter.WriteAuthenticationOk(output);
            MessageWriter.WriteParameterStatus(output, "server_version", "15.0");
            MessageWriter.WriteBackendKeyData(output, processId, 42);
            MessageWriter.WriteReadyForQuery(output, TransactionStatus.Idle);
            await output.FlushAsync();
            var status = TransactionStatus.Idle;
            while (true)
            {
                (byte Code, byte[] Payload) frame;
                try
                {
                    frame = await Frames.ReadAsync(input);
                }
                catch (EndOfStreamException)
                {
                    return;
                }

                if (frame.Code != (byte)'Q')
                {
                    return;
                }

                var sql = Encoding.UTF8.GetString(frame.Payload).TrimEnd('\0');
                status = sql switch
                {
                    "BEGIN" => TransactionStatus.InTransaction,
                    "COMMIT" => TransactionStatus.Idle,
                    _ => status,
                };
                MessageWriter.WriteCommandComplete(output, sql);
                MessageWriter.WriteReadyForQuery(output, status);
                await output.FlushAsync();
            }
        }

        /// <summary>Reads the startup message, refusing an SSLRequest before it with 'N' as a server without TLS does.</summary>
        private static async Task ReadStartupAsync(PipeReader input, PipeWriter output)
        {
            const int SslRequestCode = 80877103;
            while (true)
            {
                var result = await input.ReadAsync();
                var buffer = result.Buffer;
                if (buffer.Length >= 8)
                {
                    var prefix = buffer.Slice(0, 8).ToArray();
                    var length = BinaryPrimitives.ReadInt32BigEndian(prefix);
                    if (buffer.Length >= length)
                    {
                        input.AdvanceTo(buffer.GetPosition(length));
                        if (BinaryPrimitives.ReadInt32BigEndian(prefix.AsSpan(4)) != SslRequestCode)
                        {
                            return;
                        }

                        MessageWriter.WriteSingleByte(output, (byte)'N');
                        await output.FlushAsync();
                        continue;
                    }
                }

                if (result.IsCompleted)
                {
                    throw new EndOfStreamException();
                }

                input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
    }

    private static class Frames
    {
        public static async Task<(byte Code, byte[] Payload)> ReadAsync(PipeReader input)
        {
            while (true)
            {
                var result = await input.ReadAsync();
                var buffer = result.Buffer;
                if (FrameReader.TryReadHeader(buffer, FrameReader.DefaultMaxFrameLength, out var header) == ReadStatus.Ok
                    && buffer.Length >= header.FrameLength)
                {
                    var payload = buffer.Slice(FrameHeader.Size, header.PayloadLength).ToArray();
                    input.AdvanceTo(buffer.GetPosition(header.FrameLength));
                    return (header.Code, payload);
                }

                if (result.IsCompleted)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    throw new EndOfStreamException();
                }

                input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
    }
}
