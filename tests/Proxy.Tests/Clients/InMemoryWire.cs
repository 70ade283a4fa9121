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
/// A proxy runtime whose server connections are in-memory <see cref="InMemoryBackend"/>s and whose clients are
/// <see cref="InMemoryWireClient"/>s: the relay with exact interleavings, both sides speaking the real protocol.
/// </summary>
internal sealed class InMemoryProxy : IAsyncDisposable
{
    private readonly ConcurrentQueue<Task> _running = new();
    private int _backends;

    public InMemoryProxy(string config)
    {
        Runtime = new ProxyRuntime(ConfigLoader.Parse(config, "proxy.toml"), NullLoggerFactory.Instance);
        Runtime.Pools.OpenConnection = (_, _) =>
        {
            var (proxySide, serverSide) = InMemoryConnection.CreatePair();
            _running.Enqueue(Task.Run(() => InMemoryBackend.ServeAsync(serverSide, Interlocked.Increment(ref _backends))));
            return ValueTask.FromResult<DuplexConnection>(proxySide);
        };
    }

    public ProxyRuntime Runtime { get; }

    /// <summary>Backend connections opened so far.</summary>
    public int Backends => Volatile.Read(ref _backends);

    public async Task<InMemoryWireClient> ConnectAsync()
    {
        var (proxySide, clientSide) = InMemoryConnection.CreatePair();
        var session = new ClientSession(Runtime, proxySide);
        _running.Enqueue(Task.Run(session.RunAsync));
        var client = new InMemoryWireClient(clientSide);
        await client.LoginAsync();
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        // Closing the pools says Terminate to the backends; every loop started here must then have ended cleanly.
        await Runtime.DisposeAsync();
        await Task.WhenAll(_running).WaitAsync(TimeSpan.FromSeconds(10));
    }
}

/// <summary>A client speaking the frontend protocol over one in-memory end.</summary>
internal sealed class InMemoryWireClient(InMemoryConnection end) : IAsyncDisposable
{
    public async Task LoginAsync()
    {
        MessageWriter.WriteStartupMessage(end.Output, [new("user", "app"), new("database", "db")]);
        await end.Output.FlushAsync();
        while ((await WireFrames.ReadAsync(end.Input)).Code != (byte)'Z')
        {
        }
    }

    /// <summary>Sends a simple Query; returns its CommandComplete tag, or "error: " and the error's fields.</summary>
    public async Task<string> QueryAsync(string sql) => (await PipelineAsync(sql))[0].Answer;

    /// <summary>
    /// Sends simple Queries in one write, without waiting in between; returns each one's answer (as
    /// <see cref="QueryAsync"/>) with the transaction status of its ReadyForQuery.
    /// </summary>
    public async Task<List<(string Answer, char Status)>> PipelineAsync(params string[] queries)
    {
        foreach (var sql in queries)
        {
            MessageWriter.WriteQuery(end.Output, sql);
        }

        await end.Output.FlushAsync();
        var answers = new List<(string, char)>();
        var answer = "";
        while (answers.Count < queries.Length)
        {
            var (code, payload) = await WireFrames.ReadAsync(end.Input);
            switch (code)
            {
                case (byte)'C':
                    answer = Encoding.UTF8.GetString(payload).TrimEnd('\0');
                    break;
                case (byte)'E':
                    answer = "error: " + Encoding.UTF8.GetString(payload).Replace('\0', ' ');
                    break;
                case (byte)'Z':
                    answers.Add((answer, (char)payload[0]));
                    answer = "";
                    break;
            }
        }

        return answers;
    }

    public async ValueTask DisposeAsync()
    {
        MessageWriter.WriteTerminate(end.Output);
        await end.Output.FlushAsync();
        await end.DisposeAsync();
    }
}

/// <summary>
/// The server side of a backend connection: logs in with trust and answers each simple Query with its own text as the
/// command tag. BEGIN opens a transaction block and COMMIT or ROLLBACK ends it, as the ReadyForQuery status says.
/// <see cref="Die"/> makes it do what a fast shutdown does: FATAL 57P01, then the connection closes.
/// </summary>
internal static class InMemoryBackend
{
    public const string Die = "die";

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
                frame = await WireFrames.ReadAsync(input);
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
            if (sql == Die)
            {
                MessageWriter.WriteErrorResponse(output, "FATAL", SqlState.AdminShutdown, "terminating connection due to administrator command");
                await output.FlushAsync();
                await output.CompleteAsync();
                return;
            }

            status = sql switch
            {
                "BEGIN" => TransactionStatus.InTransaction,
                "COMMIT" or "ROLLBACK" => TransactionStatus.Idle,
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

internal static class WireFrames
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
