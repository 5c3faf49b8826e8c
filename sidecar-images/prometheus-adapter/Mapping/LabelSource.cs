namespace SidecarInjector.PrometheusAdapter.Mapping;

/// <summary>Where a label's value comes from: a fixed value, the iterated key or index, or a path relative to the element.</summary>
internal sealed record LabelSource(string Name, string? Constant = null, bool FromKey = false, bool FromIndex = false, JsonPath? Path = null);
