using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace Sluice.Proxy.Transport.Epoll;

/// <summary>
/// The receiving half of an epoll-registered socket as a <see cref="PipeReader"/> that receives itself: there is no
/// Pipe and no receive loop in between. A read takes what is buffered; when the reader needs more and the loop has
/// reported the socket readable it receives right away on the reader's thread; otherwise it parks, and the loop
/// thread receives and completes the read inline when the next edge comes. Arrays are rented only to receive into and
/// go back to the pool as soon as the reader consumes their bytes, so an idle connection holds no buffer — and
/// because nothing receives until the reader asks, unread input waits in the kernel's socket buffer (which is also
/// the back-pressure).
/// <para>
/// One reader at a time, as for any PipeReader; the loop thread only receives for a reader it has taken from the
/// parked state (<see cref="ReadinessSignal"/>), so reader and loop never receive at once.
/// </para>
/// </summary>
internal sealed class EpollPipeReader : PipeReader, IValueTaskSource<ReadResult>
{
    /// <summary>A receive that fills its array is followed by another, until this much is buffered.</summary>
    private const int MaxBufferedPerRead = 64 * 1024;

    private readonly SafeSocketHandle _socket;
    private ReadinessSignal _readable;
    private ManualResetValueTaskSourceCore<ReadResult> _parked;
    private CancellationTokenRegistration _cancellation;

    private ReceiveChain _buffered;
    private bool _endOfStream;
    private Exception? _error;
    private volatile bool _aborted;
    private int _cancelRequested;
    private bool _completed;

    public EpollPipeReader(SafeSocketHandle socket, ArrayPool<byte> pool)
    {
        _socket = socket;
        _buffered = new ReceiveChain(pool);
    }

    /// <summary>Nothing buffered: an idle connection's reader holds no array.</summary>
    internal bool HoldsNoBuffer => _buffered.IsEmpty;

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfCompleted();
        while (true)
        {
            if (TryTakeCancel(out var canceled) || TryReadNow(out canceled))
            {
                return new(canceled);
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled<ReadResult>(cancellationToken);
            }

            _parked.Reset();

            // Registered before parking, so a completion (which disposes it) never runs before it exists.
            if (cancellationToken.CanBeCanceled)
            {
                _cancellation = cancellationToken.UnsafeRegister(static (state, token) => ((EpollPipeReader)state!).WakeCanceled(token), this);
            }

            if (!_readable.TryPark())
            {
                // The socket became readable between the receive and parking: receive again.
                DisposeCancellation();
                continue;
            }

            // An abort or a cancellation that looked before we parked found nobody to wake: wake ourselves.
            if ((_aborted || cancellationToken.IsCancellationRequested) && _readable.TryTakeParked())
            {
                DisposeCancellation();
                return _aborted
                    ? ValueTask.FromException<ReadResult>(AbortedError())
                    : ValueTask.FromCanceled<ReadResult>(cancellationToken);
            }

            return new(this, _parked.Version);
        }
    }

    public override bool TryRead(out ReadResult result)
    {
        ThrowIfCompleted();
        return TryTakeCancel(out result) || TryReadNow(out result);
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        ThrowIfCompleted();
        _buffered.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead()
    {
        Interlocked.Exchange(ref _cancelRequested, 1);
        if (_readable.TryTakeParked())
        {
            Volatile.Write(ref _cancelRequested, 0);
            _parked.SetResult(new ReadResult(_buffered.Buffered(), isCanceled: true, isCompleted: false));
        }
    }

    public override void Complete(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }

        lock (this)
        {
            _completed = true;
            _buffered.Release();
        }

        // A read still parked (the connection is going away under it) ends like one on an aborted connection.
        OnAborted();
    }

    /// <summary>Loop thread: the socket reported input, end of stream, a reset or an error.</summary>
    public void OnReadable(bool hungUp)
    {
        if (!_readable.Report(hungUp))
        {
            return;
        }

        // We took the parked reader: receive for it, here on the loop thread, and let it run inline (outside the lock).
        while (true)
        {
            ReadResult result;
            Exception? error = null;
            lock (this)
            {
                // Under the reader's own lock only against Complete: a connection disposed while its read is parked
                // releases the buffers this receive would fill.
                if (_aborted || _completed)
                {
                    error = AbortedError();
                    result = default;
                }
                else
                {
                    try
                    {
                        if (!TryReadNow(out result))
                        {
                            // A readiness report with nothing behind it: park again (only this thread reports edges,
                            // so none can arrive in between, but the protocol is the same either way).
                            if (_readable.TryPark())
                            {
                                return;
                            }

                            continue;
                        }
                    }
                    catch (IOException ex)
                    {
                        error = ex;
                        result = default;
                    }
                }
            }

            if (error is null)
            {
                _parked.SetResult(result);
            }
            else
            {
                _parked.SetException(error);
            }

            return;
        }
    }

    /// <summary>
    /// The connection was aborted: a parked read fails with an IOException, on the thread pool (the aborting thread
    /// may be another session's, in the middle of its own work); later reads fail at once.
    /// </summary>
    public void OnAborted()
    {
        _aborted = true;
        if (_readable.TryTakeParked())
        {
            ThreadPool.UnsafeQueueUserWorkItem(static reader => reader._parked.SetException(AbortedError()), this, preferLocal: false);
        }
    }

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token)
    {
        try
        {
            return _parked.GetResult(token);
        }
        finally
        {
            DisposeCancellation();
        }
    }

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _parked.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _parked.OnCompleted(continuation, state, token, flags);

    private void ThrowIfCompleted()
    {
        if (_completed)
        {
            throw new InvalidOperationException("reading is not allowed after the reader was completed");
        }
    }

    private static IOException AbortedError() => new("connection aborted");

    /// <summary>From the callback's own thread (a cancellation that completes the read inline) Dispose returns at once.</summary>
    private void DisposeCancellation()
    {
        _cancellation.Dispose();
        _cancellation = default;
    }

    private void WakeCanceled(CancellationToken token)
    {
        if (_readable.TryTakeParked())
        {
            _parked.SetException(new OperationCanceledException(token));
        }
    }

    private bool TryTakeCancel(out ReadResult result)
    {
        if (Volatile.Read(ref _cancelRequested) == 1 && Interlocked.Exchange(ref _cancelRequested, 0) == 1)
        {
            result = new ReadResult(_buffered.Buffered(), isCanceled: true, isCompleted: false);
            return true;
        }

        result = default;
        return false;
    }

    /// <summary>A result without waiting: bytes not yet examined, the end of stream, or what a receive gets now.</summary>
    private bool TryReadNow(out ReadResult result)
    {
        if (_aborted)
        {
            throw AbortedError();
        }

        if (_error is not null)
        {
            throw new IOException(_error.Message, _error);
        }

        if (_buffered.HasUnexamined || _endOfStream || (_readable.IsReady && Receive()))
        {
            _buffered.Returned();
            result = new ReadResult(_buffered.Buffered(), isCanceled: false, isCompleted: _endOfStream);
            return true;
        }

        result = default;
        return false;
    }

    /// <summary>Receives what the socket has (up to <see cref="MaxBufferedPerRead"/>); true when anything changed.</summary>
    private bool Receive()
    {
        var buffered = 0;
        while (true)
        {
            var snapshot = _readable.Snapshot();
            var free = _buffered.FreeSpace();
            int received;
            int error;
            try
            {
                received = EpollInterop.Receive(_socket, free, out error);
            }
            catch (ObjectDisposedException)
            {
                // Closed under us (an abort or dispose racing this receive).
                _aborted = true;
                _buffered.DropEmptyTail();
                throw AbortedError();
            }

            if (received > 0)
            {
                _buffered.Advance(received);
                buffered += received;
                if (received < free.Length)
                {
                    // Short: the socket is drained as of the snapshot. The next read waits for an edge.
                    _readable.MarkDrained(snapshot);
                    return true;
                }

                if (buffered >= MaxBufferedPerRead)
                {
                    return true;
                }

                continue;
            }

            _buffered.DropEmptyTail();
            if (received == 0)
            {
                _endOfStream = true;
                return true;
            }

            if (error == EpollInterop.EIntr)
            {
                continue;
            }

            if (error == EpollInterop.EAgain)
            {
                _readable.MarkDrained(snapshot);
                return buffered > 0;
            }

            _error = new SocketException(error);
            throw new IOException(_error.Message, _error);
        }
    }
}
