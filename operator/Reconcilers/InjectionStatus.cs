using System.Text.Json;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>Reads a pod's <c>sidecarinjector.io/status</c> annotation: {"policy":"templateHash",...}.</summary>
public static class InjectionStatus
{
    public static IReadOnlyDictionary<string, string> Parse(string? annotation)
    {
        if (string.IsNullOrWhiteSpace(annotation))
        {
            return new Dictionary<string, string>();
        }

        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(annotation) ?? new Dictionary<string, string>();
        }
        catch (JsonException)
        {
            // Someone edited the annotation by hand: count the pod as not injected rather than fail.
            return new Dictionary<string, string>();
        }
    }
}
