using System.Text.Json;

namespace SidecarInjector.PrometheusAdapter.Mapping;

/// <summary>An element a path selected, with the innermost object key and array index its wildcards iterated.</summary>
internal readonly record struct PathMatch(JsonElement Element, string? Key, int? Index);
