using System.Globalization;
using SidecarInjector.PrometheusAdapter.Mapping;
using SidecarInjector.PrometheusAdapter.Naming;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.PrometheusAdapter.Hosting;

/// <summary>The adapter's settings, checked and compiled once at start from <see cref="AdapterConfig"/>.</summary>
internal sealed class AdapterOptions
{
    /// <summary>Names of the adapter's own metrics; application families may not take them.</summary>
    public const string SelfMetricPrefix = "prometheus_adapter_";

    public required Uri Source { get; init; }

    public required ListenAddress Listen { get; init; }

    public required TimeSpan PollInterval { get; init; }

    public required TimeSpan Timeout { get; init; }

    public required string MetricPrefix { get; init; }

    /// <summary>Documents larger than this are refused before they are read whole.</summary>
    public int MaxDocumentBytes { get; init; } = 2 * 1024 * 1024;

    /// <summary>Documents converting to more series than this are refused; conversion stops there.</summary>
    public int MaxSeries { get; init; } = 30000;

    /// <summary>Null means the no-mappings mode: every numeric or boolean leaf is a gauge.</summary>
    public IReadOnlyList<CompiledMapping>? Mappings { get; init; }

    /// <summary>Loads SIDECAR_CONFIG or <c>--config FILE</c> and validates it.</summary>
    /// <exception cref="SidecarConfigException">The message names the offending key.</exception>
    public static AdapterOptions Load(IReadOnlyList<string> args, string? environmentValue = null)
    {
        var file = SidecarConfigLoader.ConfigFileArgument(args);
        var config = SidecarConfigLoader.Load(file, SidecarConfigJson.Default.AdapterConfig, environmentValue);
        return From(config, file ?? SidecarConfigLoader.EnvironmentVariable);
    }

    /// <exception cref="SidecarConfigException">The message names the offending key.</exception>
    public static AdapterOptions From(AdapterConfig config, string source)
    {
        SidecarConfigException Fail(string key, string message) => new($"{source}: {key}: {message}");

        if (!Uri.TryCreate(config.Source, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw Fail("source", $"'{config.Source}' is not an http or https URL");
        }

        ListenAddress listen;
        try
        {
            listen = ListenAddress.Parse(config.Listen);
        }
        catch (FormatException e)
        {
            throw Fail("listen", e.Message);
        }

        var prefix = config.MetricPrefix ?? string.Empty;
        if (prefix.StartsWith(SelfMetricPrefix, StringComparison.Ordinal))
        {
            throw Fail("metricPrefix", $"'{SelfMetricPrefix}' is reserved for the adapter's own metrics");
        }

        if (prefix.Contains(':', StringComparison.Ordinal))
        {
            // promtool flags every name with a colon (colons are for recording rules), and the prefix is in every name.
            throw Fail("metricPrefix", $"'{prefix}': metric names should not contain ':'");
        }

        return new AdapterOptions
        {
            Source = uri,
            Listen = listen,
            PollInterval = TimeSpan.FromSeconds(config.PollIntervalSeconds),
            // A poll never outlives its interval, so polls cannot pile up behind a hanging source.
            Timeout = TimeSpan.FromSeconds(Math.Min(config.TimeoutSeconds, config.PollIntervalSeconds)),
            MetricPrefix = prefix,
            MaxDocumentBytes = config.MaxDocumentBytes,
            MaxSeries = config.MaxSeries,
            Mappings = config.Metrics is null ? null : CompileMappings(config.Metrics, prefix, Fail),
        };
    }

    private static List<CompiledMapping> CompileMappings(List<MetricMapping> metrics, string prefix, Func<string, string, SidecarConfigException> fail)
    {
        var compiled = new List<CompiledMapping>();
        var families = new Dictionary<string, (int Index, MetricType Type, string Help)>(StringComparer.Ordinal);
        for (var i = 0; i < metrics.Count; i++)
        {
            var key = $"metrics[{i}]";
            var mapping = metrics[i];
            var name = prefix + mapping.Name;
            if (mapping.Type == MetricType.Counter && name.EndsWith("_total", StringComparison.Ordinal))
            {
                name = name[..^"_total".Length];
            }

            var textName = mapping.Type == MetricType.Counter ? name + "_total" : name;
            if (textName.StartsWith(SelfMetricPrefix, StringComparison.Ordinal))
            {
                throw fail($"{key}.name", $"'{textName}': the prefix '{SelfMetricPrefix}' is reserved for the adapter's own metrics");
            }

            var path = ParsePath(mapping.Path, $"{key}.path", fail);
            var value = mapping.Value is null ? null : ParseRelativePath(mapping.Value, $"{key}.value", fail);
            var labels = CompileLabels(mapping, path, key, fail);
            var problem = PromLint.Check(textName, mapping.Type, labels.Select(l => l.Name)).FirstOrDefault();
            if (problem is not null)
            {
                throw fail($"{key}.name", $"'{textName}': {problem}");
            }

            if (!double.IsFinite(mapping.Scale) || mapping.Scale == 0)
            {
                throw fail($"{key}.scale", "must be a finite number other than 0");
            }

            var help = string.IsNullOrWhiteSpace(mapping.Help) ? $"Value of {mapping.Path} in the application's JSON." : mapping.Help;
            if (families.TryGetValue(name, out var earlier))
            {
                if (earlier.Type != mapping.Type)
                {
                    throw fail($"{key}.type", $"'{textName}' is a {earlier.Type.ToString().ToLowerInvariant()} in metrics[{earlier.Index}]; one family has one type");
                }

                help = earlier.Help;
            }
            else
            {
                families.Add(name, (i, mapping.Type, help));
            }

            compiled.Add(new CompiledMapping(name, mapping.Type, help, path, value, labels, mapping.Scale, mapping.ValueMap));
        }

        return compiled;
    }

    private static List<LabelSource> CompileLabels(MetricMapping mapping, JsonPath path, string key, Func<string, string, SidecarConfigException> fail)
    {
        var labels = new List<LabelSource>();
        foreach (var (name, constant) in mapping.ConstLabels ?? [])
        {
            CheckLabelName(name, $"{key}.constLabels", fail);
            labels.Add(new LabelSource(name, Constant: constant));
        }

        foreach (var (name, source) in mapping.Labels ?? [])
        {
            var labelKey = $"{key}.labels.{name}";
            CheckLabelName(name, $"{key}.labels", fail);
            if (labels.Any(l => l.Name == name))
            {
                throw fail(labelKey, "is also a constLabel");
            }

            labels.Add(source switch
            {
                "$key" when path.Segments.Any(s => s.Kind == PathSegmentKind.AnyKey) => new LabelSource(name, FromKey: true),
                "$key" => throw fail(labelKey, $"$key needs a '*' in the path '{path.Text}'"),
                "$index" when path.Segments.Any(s => s.Kind == PathSegmentKind.AnyIndex) => new LabelSource(name, FromIndex: true),
                "$index" => throw fail(labelKey, $"$index needs a '[*]' in the path '{path.Text}'"),
                _ => new LabelSource(name, Path: ParseRelativePath(source, labelKey, fail)),
            });
        }

        return labels;
    }

    private static void CheckLabelName(string name, string key, Func<string, string, SidecarConfigException> fail)
    {
        if (!MetricNames.IsValidLabelName(name))
        {
            throw fail(key, $"'{name}' is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)");
        }
    }

    private static JsonPath ParsePath(string text, string key, Func<string, string, SidecarConfigException> fail)
    {
        try
        {
            return JsonPath.Parse(text);
        }
        catch (FormatException e)
        {
            throw fail(key, string.Create(CultureInfo.InvariantCulture, $"'{text}': {e.Message}"));
        }
    }

    private static JsonPath ParseRelativePath(string text, string key, Func<string, string, SidecarConfigException> fail)
    {
        var path = ParsePath(text, key, fail);
        return path.HasWildcard ? throw fail(key, $"'{text}': wildcards are only allowed in the mapping's path") : path;
    }
}
