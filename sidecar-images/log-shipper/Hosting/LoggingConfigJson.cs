using System.Text.Json.Serialization;
using SidecarInjector.Crds.Config;

namespace SidecarInjector.LogShipper.Hosting;

/// <summary>
/// Source-generated JSON metadata of the config, so the Native AOT build reads it without
/// reflection; the options are those of the Kubernetes client's serializer that the other
/// sidecars use (every property has a JsonPropertyName, unknown fields are refused by attribute).
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LoggingConfig))]
internal sealed partial class LoggingConfigJson : JsonSerializerContext;
