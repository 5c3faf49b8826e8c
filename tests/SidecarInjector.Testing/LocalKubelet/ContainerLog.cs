using System.Globalization;
using System.Text;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>One container instance's stdout and stderr lines, as <c>kubectl logs</c> shows them.</summary>
public sealed class ContainerLog
{
    private readonly Lock gate = new();
    private readonly List<(DateTimeOffset Time, string Line)> lines = [];

    public void Append(string line)
    {
        lock (gate)
        {
            lines.Add((DateTimeOffset.UtcNow, line));
        }
    }

    public string Text(bool timestamps = false)
    {
        lock (gate)
        {
            var text = new StringBuilder();
            foreach (var (time, line) in lines)
            {
                if (timestamps)
                {
                    text.Append(time.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture)).Append(' ');
                }

                text.Append(line).Append('\n');
            }

            return text.ToString();
        }
    }
}
