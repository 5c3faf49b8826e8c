namespace SidecarInjector.PrometheusAdapter.Exposition;

/// <summary>One sample of a family: its labels in output order and its value.</summary>
internal readonly record struct Series(IReadOnlyList<KeyValuePair<string, string>> Labels, double Value);
