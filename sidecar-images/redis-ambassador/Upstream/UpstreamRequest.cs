using System.Buffers;
using SidecarInjector.RedisAmbassador.Commands;
using SidecarInjector.RedisAmbassador.Metrics;

namespace SidecarInjector.RedisAmbassador.Upstream;

/// <summary>
/// One or more pipelined commands sent upstream together, completed with all their replies in order.
/// This class completes <see cref="Task"/>; a subclass may instead take the replies where they are
/// (<see cref="OnReplies"/>), e.g. to write them straight to the client without a task in between.
/// </summary>
public class UpstreamRequest
{
    private readonly TaskCompletionSource<byte[]>? completion;
    private readonly AmbassadorMetrics? metrics;
    private ArrayBufferWriter<byte>? partial;

    public UpstreamRequest(byte[] payload, IReadOnlyList<CommandInfo> commands, AmbassadorMetrics? metrics)
        : this(payload, commands, metrics, withTask: true)
    {
    }

    protected UpstreamRequest(byte[] payload, IReadOnlyList<CommandInfo> commands, AmbassadorMetrics? metrics, bool withTask)
    {
        Payload = payload;
        Commands = commands;
        this.metrics = metrics;
        completion = withTask ? new TaskCompletionSource<byte[]>() : null;
    }

    public byte[] Payload { get; }

    public IReadOnlyList<CommandInfo> Commands { get; }

    /// <summary>Replies received so far.</summary>
    public int Received { get; private set; }

    /// <summary>Stopwatch timestamp after which the connection gives up on this request; set when it is queued.</summary>
    public long Deadline { get; internal set; } = long.MaxValue;

    public Task<byte[]> Task => completion?.Task ?? throw new InvalidOperationException("this request has no task");

    /// <summary>Counts one complete reply whose first byte is <paramref name="type"/>; true when it was the last one.</summary>
    public bool OnReply(byte type)
    {
        metrics?.Count(Commands[Received], type is (byte)'-' or (byte)'!' ? CommandResult.Error : CommandResult.Ok);
        Received++;
        return Received == Commands.Count;
    }

    /// <summary>Keeps complete replies that arrived in an earlier read than the last one.</summary>
    public void AppendPartial(ReadOnlySequence<byte> replies)
    {
        partial ??= new ArrayBufferWriter<byte>();
        foreach (var segment in replies)
        {
            partial.Write(segment.Span);
        }
    }

    /// <summary>Completes with the replies kept so far followed by <paramref name="last"/> (valid only during the call).</summary>
    public void Complete(ReadOnlySequence<byte> last) => OnReplies(partial is null ? ReadOnlySpan<byte>.Empty : partial.WrittenSpan, last);

    /// <summary>The connection failed before every reply arrived (a <see cref="TimeoutException"/> when this request's deadline passed).</summary>
    public virtual void Fail(Exception error) => completion!.TrySetException(error);

    /// <summary>All replies: <paramref name="first"/> then <paramref name="last"/>, both valid only during the call.</summary>
    protected virtual void OnReplies(ReadOnlySpan<byte> first, ReadOnlySequence<byte> last)
    {
        if (first.IsEmpty)
        {
            completion!.TrySetResult(last.ToArray());
            return;
        }

        var all = new byte[first.Length + last.Length];
        first.CopyTo(all);
        last.CopyTo(all.AsSpan(first.Length));
        completion!.TrySetResult(all);
    }
}
