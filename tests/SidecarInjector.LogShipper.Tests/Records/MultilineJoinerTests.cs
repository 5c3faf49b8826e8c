using System.Text;
using SidecarInjector.LogShipper.Records;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Tests.Records;

public class MultilineJoinerTests
{
    [Fact]
    public void Joins_stack_trace_lines_to_their_start_line()
    {
        var joiner = MultilineJoiner.Create(new MultilineConfig { StartPattern = @"^\d{4}-" })!;
        var completed = new List<(string Record, long End)>();
        long offset = 0;
        foreach (var line in new[] { "2025-01-01 boom", "  at A.B()", "  at C.D()", "2025-01-01 next" })
        {
            offset += line.Length + 1;
            if (joiner.Add(Encoding.UTF8.GetBytes(line), offset, 0, out var record, out var end))
            {
                completed.Add((Encoding.UTF8.GetString(record.Span), end));
            }
        }

        var (text, endOffset) = Assert.Single(completed);
        Assert.Equal("2025-01-01 boom\n  at A.B()\n  at C.D()", text);
        Assert.Equal("2025-01-01 boom\n  at A.B()\n  at C.D()\n".Length, endOffset);
        Assert.True(joiner.HasPending);
        Assert.Equal("2025-01-01 next", Encoding.UTF8.GetString(joiner.Flush(out var last).Span));
        Assert.Equal(offset, last);
    }

    [Fact]
    public void Cuts_a_record_at_max_lines()
    {
        var joiner = MultilineJoiner.Create(new MultilineConfig { StartPattern = "^START", MaxLines = 2 })!;
        var emitted = 0;
        foreach (var line in new[] { "START", "a", "b", "c" })
        {
            emitted += joiner.Add(Encoding.UTF8.GetBytes(line), 0, 0, out _, out _) ? 1 : 0;
        }

        Assert.Equal(1, emitted);
    }
}
