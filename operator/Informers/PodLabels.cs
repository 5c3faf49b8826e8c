namespace SidecarInjector.Operator.Informers;

/// <summary>An existing pod as selectors see it: its namespace's labels and its own.</summary>
public sealed record PodLabels(IReadOnlyDictionary<string, string> Namespace, IReadOnlyDictionary<string, string> Pod)
{
    public static IReadOnlyDictionary<string, string> Of(IDictionary<string, string>? labels) =>
        labels as IReadOnlyDictionary<string, string> ?? new Dictionary<string, string>(labels ?? new Dictionary<string, string>(), StringComparer.Ordinal);
}
