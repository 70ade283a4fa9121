using Sluice.Protocol.Messages;
using Sluice.Proxy.Statements;

namespace Sluice.Proxy.Tests.Statements;

public sealed class ReplyQueueTests
{
    [Fact]
    public void Rows_need_no_look_at_the_queue_only_while_every_reply_is_forwarded()
    {
        var queue = new ReplyQueue();
        queue.Enqueue(new PendingReply(ReplyTo.Query, ReplyAction.Forward));
        Assert.True(queue.AllForwarded);

        queue.Enqueue(new PendingReply(ReplyTo.Query, ReplyAction.Swallow));
        queue.Enqueue(new PendingReply(ReplyTo.Parse, ReplyAction.Fake));
        Assert.False(queue.AllForwarded);

        queue.Dequeue();
        queue.Dequeue();
        Assert.False(queue.AllForwarded);
        queue.Dequeue();
        Assert.True(queue.AllForwarded);

        queue.Enqueue(new PendingReply(ReplyTo.Close, ReplyAction.Fake));
        Assert.False(queue.AllForwarded);
        queue.Dequeue();
        Assert.True(queue.AllForwarded);
        Assert.Equal(0, queue.Count);
    }

    [Theory]
    [InlineData('D', false)]
    [InlineData('d', false)]
    [InlineData('t', false)]
    [InlineData('T', true)]
    [InlineData('C', true)]
    [InlineData('Z', true)]
    [InlineData('E', true)]
    [InlineData('1', true)]
    [InlineData('s', true)]
    public void Only_messages_that_can_end_a_reply_are_matched(char code, bool mayEnd) =>
        Assert.Equal(mayEnd, ReplyQueue.MayEnd((BackendMessageCode)(byte)code));
}
