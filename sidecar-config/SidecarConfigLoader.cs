using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using SidecarInjector.SidecarConfig.Schema;
using SidecarInjector.SidecarConfig.Serialization;

namespace SidecarInjector.SidecarConfig;

/// <summary>
/// How the sidecar programs read their configuration: the JSON in <c>SIDECAR_CONFIG</c> (what
/// the injector writes from the policy's typed section) or a file given with <c>--config</c>
/// (JSON or YAML), validated with the same rules as the CRD.
/// </summary>
public static class SidecarConfigLoader
{
    public const string EnvironmentVariable = "SIDECAR_CONFIG";

    /// <summary>
    /// Loads from <paramref name="configFile"/> when given, else from SIDECAR_CONFIG, deserializing
    /// with source-generated metadata (<see cref="SidecarConfigJson"/>): no reflection serializer,
    /// so the Native AOT sidecars read their config like the JIT ones.
    /// </summary>
    /// <exception cref="SidecarConfigException">Missing, unparsable or invalid configuration; the message names the key.</exception>
    public static T Load<T>(string? configFile, JsonTypeInfo<T> typeInfo, string? environmentValue = null)
        where T : class, new() =>
        Load(configFile, environmentValue, node => TypedJson.Deserialize(node, typeInfo));

    /// <summary>Parses and validates configuration text; <paramref name="source"/> prefixes error messages.</summary>
    /// <exception cref="SidecarConfigException">Unparsable or invalid configuration; the message names the key.</exception>
    public static T Parse<T>(string text, string source, JsonTypeInfo<T> typeInfo)
        where T : class, new() =>
        ParseText(text, source, node => TypedJson.Deserialize(node, typeInfo));

    /// <summary>
    /// Like <see cref="Parse{T}(string, string, JsonTypeInfo{T})"/> with another deserializer that
    /// throws <see cref="ApiJsonException"/>: the CRD reads the same sections with the Kubernetes
    /// client's serializer, and its tests hold both readers to the same result.
    /// </summary>
    /// <exception cref="SidecarConfigException">Unparsable or invalid configuration; the message names the key.</exception>
    public static T Parse<T>(string text, string source, Func<JsonNode, T> deserialize)
        where T : class, new() =>
        ParseText(text, source, deserialize);

    private static T Load<T>(string? configFile, string? environmentValue, Func<JsonNode, T> deserialize)
        where T : class, new()
    {
        string text;
        string source;
        if (!string.IsNullOrEmpty(configFile))
        {
            source = configFile;
            try
            {
                text = File.ReadAllText(configFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new SidecarConfigException($"{configFile}: cannot read the config file: {e.Message}");
            }
        }
        else
        {
            source = EnvironmentVariable;
            text = environmentValue ?? Environment.GetEnvironmentVariable(EnvironmentVariable)
                ?? throw new SidecarConfigException($"no configuration: set {EnvironmentVariable} to the JSON config or pass --config FILE");
        }

        return ParseText(text, source, deserialize);
    }

    private static T ParseText<T>(string text, string source, Func<JsonNode, T> deserialize)
        where T : class, new()
    {
        JsonNode node;
        try
        {
            var documents = YamlJson.ParseDocuments(text);
            node = documents.Count == 1 ? documents[0]
                : throw new SidecarConfigException($"{source}: expected one configuration object, found {documents.Count} documents");
        }
        catch (YamlJsonException e)
        {
            throw new SidecarConfigException($"{source}: {e.Detail}");
        }

        T config;
        try
        {
            config = deserialize(node);
        }
        catch (ApiJsonException e)
        {
            throw new SidecarConfigException($"{source}: {e.Message}");
        }

        var problems = new List<ValidationProblem>();
        SchemaWalker.Validate(config, string.Empty, problems);
        if (config is LoggingConfig logging)
        {
            LoggingConfigValidator.Validate(logging, string.Empty, problems);
        }

        if (problems.Count > 0)
        {
            throw new SidecarConfigException($"{source}: {string.Join("; ", problems.Select(p => p.ToString().TrimStart('.')))}");
        }

        return config;
    }

    /// <summary>The value of <c>--config FILE</c> or <c>--config=FILE</c> in a command line, if any.</summary>
    public static string? ConfigFileArgument(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Count)
            {
                return args[i + 1];
            }

            if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                return args[i]["--config=".Length..];
            }
        }

        return null;
    }
}
