using System.Text.Json;
using System.Text.RegularExpressions;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>
/// Which webhook entries a 422 on a MutatingWebhookConfiguration is about: the API server names
/// each problem by its field path (<c>webhooks[3].objectSelector.matchLabels: Invalid value: ...</c>),
/// in the Status' causes and in its message.
/// </summary>
public static partial class WebhookEntryErrors
{
    /// <summary>Entry index to the API server's words about it, from a Status body (or a bare message).</summary>
    public static IReadOnlyDictionary<int, string> ByEntry(string statusBody)
    {
        var fragments = new List<string>();
        try
        {
            using var status = JsonDocument.Parse(statusBody);
            if (status.RootElement.TryGetProperty("details", out var details) && details.TryGetProperty("causes", out var causes))
            {
                foreach (var cause in causes.EnumerateArray())
                {
                    var field = cause.TryGetProperty("field", out var f) ? f.GetString() : null;
                    var message = cause.TryGetProperty("message", out var m) ? m.GetString() : null;
                    if (field is not null)
                    {
                        fragments.Add($"{field}: {message}");
                    }
                }
            }

            if (fragments.Count == 0 && status.RootElement.TryGetProperty("message", out var text))
            {
                fragments.AddRange(Split(text.GetString() ?? string.Empty));
            }
        }
        catch (JsonException)
        {
            fragments.AddRange(Split(statusBody));
        }

        return fragments
            .Select(f => (Match: EntryPath().Match(f), Text: f))
            .Where(f => f.Match.Success)
            .GroupBy(f => int.Parse(f.Match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
            .ToDictionary(g => g.Key, g => string.Join("; ", g.Select(f => f.Text)));
    }

    /// <summary>"... is invalid: [webhooks[0].x: ..., webhooks[2].y: ...]" into one fragment per field path.</summary>
    private static IEnumerable<string> Split(string message) =>
        FragmentStart().Split(message)
            .Select(f => f.Trim().TrimEnd(',', ']', ' ').Trim())
            .Where(f => f.StartsWith("webhooks[", StringComparison.Ordinal));

    [GeneratedRegex(@"^webhooks\[(\d+)\]")]
    private static partial Regex EntryPath();

    [GeneratedRegex(@"(?=webhooks\[\d+\])")]
    private static partial Regex FragmentStart();
}
