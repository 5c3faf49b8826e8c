using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CsCheck;
using Microsoft.Extensions.Logging.Abstractions;
using SidecarInjector.PrometheusAdapter.Exposition;
using SidecarInjector.PrometheusAdapter.Hosting;
using SidecarInjector.PrometheusAdapter.Polling;
using SidecarInjector.PrometheusAdapter.Tests.Support;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.PrometheusAdapter.Tests.Mapping;

/// <summary>
/// The JSON-to-metrics conversion on generated documents and configurations (CsCheck; a failure
/// prints the shrunk document and configuration): a configuration is accepted or refused with the
/// loader's clear error; a document converts to valid exposition, or fails with one of the errors a
/// poll reports in words (not JSON, an unreadable string, a limit), never anything else.
/// </summary>
public sealed partial class ConversionPropertyTests
{
    // Keys and strings from characters that stress naming and escaping: case changes, unit words,
    // separators, quotes, backslashes, newlines, non-ASCII; no lone surrogates (those come raw, below).
    private static readonly Gen<string> Text = Gen.OneOf(
        Gen.String[Gen.Char["abzAZ09_ .-:\"\\\n/é温"], 0, 6],
        Gen.OneOf("items", "queues", "latencyMs", "sizeKb", "total", "requests_total", "count", "le", "name", "status", "UP", "DOWN", "😀", "__name__", "HTTPServer", "temp_fahrenheit", ""));

    private static readonly Gen<string> Number = Gen.OneOf(
        Gen.Int[-1000, 1000].Select(i => i.ToString(CultureInfo.InvariantCulture)),
        Gen.Double.Where(double.IsFinite).Select(d => d.ToString("R", CultureInfo.InvariantCulture)),
        Gen.OneOf("1e400", "-1e400", "123456789012345678901234567890", "-0", "0.000001", "1E-320"));

    private static readonly Gen<string> Scalar = Gen.Frequency(
        (4, Number),
        (1, Gen.OneOf("true", "false", "null")),
        (2, Text.Select(Quote)),
        (1, Gen.OneOf("\"42\"", "\"1.5e3\"", "\"UP\"", "\"DOWN\"", "\"NaN\"")));

    private static readonly Gen<string> Json = Gen.Recursive<string>((depth, self) => depth >= 4
        ? Scalar
        : Gen.Frequency(
            (2, Scalar),
            (3, Gen.Select(Text, self).Array[0, 5].Select(members => "{" + string.Join(',', members.Select(m => Quote(m.Item1) + ":" + m.Item2)) + "}")),
            (2, self.Array[0, 5].Select(items => "[" + string.Join(',', items) + "]"))));

    /// <summary>Mostly valid JSON; sometimes cut short, or with a string the .NET reader refuses (an unpaired surrogate escape).</summary>
    private static readonly Gen<(string Json, bool LoneSurrogate)> Document = Gen.Frequency(
        (8, Json.Select(j => (j, false))),
        (1, Gen.Select(Json, Gen.Int[0, 100]).Select(t => (t.Item1[..(t.Item1.Length * t.Item2 / 100)], false))),
        (1, Json.Select(j => ("{\"bad\":\"\\ud800\",\"rest\":" + j + "}", true))));

    private static readonly Gen<string> PathText = Gen.Select(
        Gen.OneOf("items", "queues", "a", "b", "*", "[*]", "[0]", "[\"with space\"]", "name", "status", "latencyMs", "$").Array[1, 4],
        Gen.Bool).Select(t => string.Join('.', t.Item1).Replace(".[", "[", StringComparison.Ordinal));

    private static readonly Gen<MetricMapping> Mapping =
        Gen.Select(
            Gen.OneOf("requests", "latency_seconds", "queue_depth", "up", "requests_total", "latency_ms", "Bad-Name", "a:b", "x"),
            PathText,
            Gen.OneOf<string?>(null, "depth", "value", "name", "[0]", "*"),
            Gen.Enum<MetricType>(),
            Gen.Select(Gen.OneOf("queue", "pool", "le", "__x", "bad-label"), Gen.OneOf("$key", "$index", "name", "missing")).Array[0, 2],
            Gen.Select(Gen.OneOf("service", "env"), Text).Array[0, 2],
            Gen.OneOf(1.0, 0.001, -2.5, 0.0, 1e308),
            Gen.Bool)
        .Select(t => new MetricMapping
        {
            Name = t.Item1,
            Path = t.Item2,
            Value = t.Item3,
            Type = t.Item4,
            Labels = t.Item5.Length == 0 ? null : t.Item5.DistinctBy(l => l.Item1).ToDictionary(l => l.Item1, l => l.Item2),
            ConstLabels = t.Item6.Length == 0 ? null : t.Item6.DistinctBy(l => l.Item1).ToDictionary(l => l.Item1, l => l.Item2),
            Scale = t.Item7,
            ValueMap = t.Item8 ? new Dictionary<string, double> { ["UP"] = 1, ["DOWN"] = 0, ["true"] = 1 } : null,
        });

    /// <summary>No mappings (every leaf), or a few; a small maxSeries now and then so the limit is hit.</summary>
    private static readonly Gen<AdapterConfig> Config = Gen.Select(
        Gen.Frequency((1, Gen.Bool.Select(_ => (MetricMapping[]?)null)), (2, Mapping.Array[1, 4].Select(m => (MetricMapping[]?)m))),
        Gen.OneOf<string?>(null, "app_", "x:"),
        Gen.OneOf(30000, 3))
        .Select(t => new AdapterConfig { Source = "http://127.0.0.1:1/stats", MetricPrefix = t.Item2, MaxSeries = t.Item3, Metrics = t.Item1?.ToList() });

    private static string Quote(string text) => JsonSerializer.Serialize(text);

    private static string Describe(AdapterConfig config, string json) =>
        $"config: {JsonSerializer.Serialize(config, SidecarConfigJson.Default.AdapterConfig)}\ndocument: {json}";

    /// <summary>The configuration through the real loader (schema checks, then the adapter's own); null when refused.</summary>
    private static AdapterOptions? Load(AdapterConfig config)
    {
        try
        {
            return AdapterOptions.Load([], JsonSerializer.Serialize(config, SidecarConfigJson.Default.AdapterConfig));
        }
        catch (SidecarConfigException e)
        {
            // The loader's clear error: where, then what, on one line.
            Assert.StartsWith("SIDECAR_CONFIG: ", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', e.Message);
            return null;
        }
    }

    /// <summary>Converts as a poll does; returns the Prometheus text, or null for an error a poll reports in words.</summary>
    private static string? Convert(AdapterOptions options, string json, bool loneSurrogate)
    {
        using var poller = new SourcePoller(options, new HttpClient(), new SnapshotStore(TimeProvider.System), new AdapterMetrics(), TimeProvider.System, NullLogger<SourcePoller>.Instance);
        MetricSet set;
        try
        {
            set = poller.Convert(Encoding.UTF8.GetBytes(json));
        }
        catch (JsonException e)
        {
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
            return null;
        }
        catch (InvalidOperationException) when (loneSurrogate)
        {
            // Reported as "unreadable JSON string"; any other InvalidOperationException is a bug.
            return null;
        }
        catch (SourceLimitException e)
        {
            Assert.Equal(SourceLimitException.Series, e.Limit);
            Assert.Contains($"more than {options.MaxSeries} series (maxSeries)", e.Message, StringComparison.Ordinal);
            return null;
        }

        var openMetrics = ExpositionWriter.ToText(set.Families, ExpositionFormat.OpenMetrics);
        AssertValidExposition(openMetrics, openMetrics: true);
        var text = ExpositionWriter.ToText(set.Families, ExpositionFormat.PrometheusText);
        AssertValidExposition(text, openMetrics: false);
        return text;
    }

    /// <summary>Every line is a HELP, a TYPE (once per family, before its samples) or a sample with a legal name, labels and value.</summary>
    private static void AssertValidExposition(string text, bool openMetrics)
    {
        var typed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                Assert.Matches(HelpLine(), line);
                continue;
            }

            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var match = TypeLine().Match(line);
                Assert.True(match.Success, $"bad TYPE line: {line}");
                Assert.True(typed.Add(match.Groups[1].Value), $"TYPE twice for {match.Groups[1].Value}");
                string[] types = openMetrics ? ["counter", "gauge", "unknown"] : ["counter", "gauge", "untyped"];
                Assert.Contains(match.Groups[2].Value, types);
                continue;
            }

            var sample = SampleLine().Match(line);
            Assert.True(sample.Success, $"bad sample line: {line}\n--- output ---\n{text}");
            var value = sample.Groups[2].Value;
            Assert.True(value is "+Inf" or "-Inf" or "NaN" || double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _), $"bad value in: {line}");
        }
    }

    [Fact]
    public void Converts_generated_documents_with_generated_mappings_to_valid_exposition_or_a_clear_error()
    {
        Gen.Select(Config, Document.Array[1, 3]).Sample(
            t =>
            {
                var (config, documents) = t;
                if (Load(config) is not { } options)
                {
                    return;
                }

                foreach (var (json, loneSurrogate) in documents)
                {
                    Convert(options, json, loneSurrogate);
                }
            },
            iter: 300,
            print: t => string.Join("\n", t.Item2.Select(d => Describe(t.Item1, d.Json))));
    }

    [Fact]
    public void Generated_conversions_pass_the_real_promtool()
    {
        // promtool is a process per case: fewer cases, each a whole check by Prometheus's own parser and linter.
        Gen.Select(Config, Json).Sample(
            t =>
            {
                var (config, json) = t;
                if (Load(config) is { } options && Convert(options, json, loneSurrogate: false) is { Length: > 0 } text)
                {
                    var (exitCode, findings) = Promtool.CheckMetricsAsync(text, CancellationToken.None).GetAwaiter().GetResult();
                    Assert.True(exitCode == 0 && findings.Trim().Length == 0, $"promtool check metrics exit {exitCode}: {findings}\n--- input ---\n{text}");
                }
            },
            iter: 30,
            threads: 1,
            print: t => Describe(t.Item1, t.Item2));
    }

    [GeneratedRegex("""^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* ?([^\\]|\\[\\n"])*$""")]
    private static partial Regex HelpLine();

    [GeneratedRegex("""^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) ([a-z]+)$""")]
    private static partial Regex TypeLine();

    [GeneratedRegex("""^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\[\\n"])*"(?:,(?=[a-zA-Z_]))?)*\})? (\S+)$""")]
    private static partial Regex SampleLine();
}
