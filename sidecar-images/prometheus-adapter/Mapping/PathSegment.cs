namespace SidecarInjector.PrometheusAdapter.Mapping;

/// <summary>One step of a <see cref="JsonPath"/>.</summary>
internal readonly record struct PathSegment(PathSegmentKind Kind, string Key = "", int Index = 0);
