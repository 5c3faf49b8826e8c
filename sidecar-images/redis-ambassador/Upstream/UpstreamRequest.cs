using System.Buffers;
using SidecarInjector.RedisAmbassador.Commands;
using SidecarInjector.RedisAmbassador.Metrics;

namespace SidecarInjector.RedisAmbassador.Upstream;

/// <summary>One or more pipelined commands sent upstream together, completed with all their replies in order.</summary>
public sealed class UpstreamRequest
{
    private readonly TaskCompletionSource<byte[]> completion = new();
    private readonly AmbassadorMetrics? metrics;
    private ArrayBufferWriter<byte>? partial;

    public UpstreamRequest(byte[] payload, IReadOnlyList<CommandInfo> commands, AmbassadorMetrics? metrics)
    {
        Payload = payload;
        Commands = commands;
        this.metrics = metrics;
    }

    public byte[] Payload { get; }

    public IReadOnlyList<CommandInfo> Commands { get; }

    /// <summary>Replies received so far.</summary>
    public int Received { get; private set; }

    public Task<byte[]> Task => completion.Task;

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

    /// <summary>Completes with the replies kept so far followed by <paramref name="last"/>.</summary>
    public void Complete(ReadOnlySequence<byte> last)
    {
        if (partial is null)
        {
            completion.TrySetResult(last.ToArray());
            return;
        }

        AppendPartial(last);
        completion.TrySetResult(partial.WrittenSpan.ToArray());
    }

    public void Fail(Exception error) => completion.TrySetException(error);
}
