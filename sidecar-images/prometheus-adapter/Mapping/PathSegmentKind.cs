namespace SidecarInjector.PrometheusAdapter.Mapping;

internal enum PathSegmentKind
{
    /// <summary>An object's property by name: <c>name</c> or <c>["name"]</c>.</summary>
    Key,

    /// <summary>Every property of an object: <c>*</c>; its name is <c>$key</c>.</summary>
    AnyKey,

    /// <summary>An array element by position: <c>[2]</c>.</summary>
    Index,

    /// <summary>Every element of an array: <c>[*]</c>; its position is <c>$index</c>.</summary>
    AnyIndex,
}
