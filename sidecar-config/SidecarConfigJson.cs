using System.Text.Json.Serialization;

namespace SidecarInjector.SidecarConfig;

/// <summary>
/// Source-generated JSON metadata of the sidecar configs, for
/// <see cref="SidecarConfigLoader.Load{T}(string?, System.Text.Json.Serialization.Metadata.JsonTypeInfo{T}, string?)"/>:
/// the Native AOT sidecars read their config without reflection. The options are those of the
/// Kubernetes client's serializer that the reflection path uses (every property has a
/// JsonPropertyName, unknown fields are refused by attribute).
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LoggingConfig))]
[JsonSerializable(typeof(AdapterConfig))]
[JsonSerializable(typeof(AmbassadorConfig))]
public sealed partial class SidecarConfigJson : JsonSerializerContext;
