using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cel;

namespace SidecarInjector.Testing.FakeApiServer;

/// <summary>
/// A webhook's <c>matchConditions</c>, evaluated with a real CEL implementation (the Cel package)
/// as kube-apiserver does: every condition must be true; <c>object</c> is the pod as JSON.
/// Kubernetes CEL includes the strings extension library; the functions of it the package lacks
/// or defines differently are registered here with Kubernetes' (cel-go's) meaning.
/// </summary>
public sealed class MatchConditionEvaluator
{
    private readonly CelEnvironment environment = new(null, null);
    private readonly ConcurrentDictionary<string, CelProgramDelegate> programs = new(StringComparer.Ordinal);
    private readonly Lock compileGate = new();

    public MatchConditionEvaluator()
    {
        environment.RegisterFunction("trim", [typeof(string)], args => TrimSpace((string)args[0]!));
        environment.RegisterFunction("lowerAscii", [typeof(string)], args => LowerAscii((string)args[0]!));
        environment.RegisterFunction("upperAscii", [typeof(string)], args => UpperAscii((string)args[0]!));
        environment.RegisterFunction("split", [typeof(string), typeof(string)], args => Split((string)args[0]!, (string)args[1]!));
    }

    /// <summary>
    /// Null when every condition holds; else the name of the first that is false. Throws
    /// <see cref="MatchConditionException"/> when one cannot be compiled or evaluated (kube-apiserver
    /// then follows the webhook's failurePolicy).
    /// </summary>
    public string? FirstFailing(JsonObject webhook, JsonObject obj)
    {
        var variables = new Dictionary<string, object?>(StringComparer.Ordinal) { ["object"] = ToCel(obj), ["oldObject"] = null };
        foreach (var condition in (webhook["matchConditions"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var name = condition["name"]?.GetValue<string>() ?? string.Empty;
            var expression = condition["expression"]?.GetValue<string>() ?? string.Empty;
            object? result;
            try
            {
                result = Compile(expression)(variables);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new MatchConditionException($"matchCondition '{name}' ({expression}): {e.Message}", e);
            }

            if (result is not bool holds)
            {
                throw new MatchConditionException($"matchCondition '{name}' ({expression}) gave {result ?? "null"}, not a bool");
            }

            if (!holds)
            {
                return name;
            }
        }

        return null;
    }

    /// <summary>Null when <paramref name="expression"/> parses; else the parser's message.</summary>
    public string? CompileError(string expression)
    {
        try
        {
            Compile(expression);
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return e.Message;
        }
    }

    /// <summary>Evaluates one expression against <paramref name="obj"/> as <c>object</c>.</summary>
    public object? Evaluate(string expression, JsonObject obj) =>
        Compile(expression)(new Dictionary<string, object?>(StringComparer.Ordinal) { ["object"] = ToCel(obj) });

    private CelProgramDelegate Compile(string expression)
    {
        if (programs.TryGetValue(expression, out var program))
        {
            return program;
        }

        // The environment's parser and function table are not documented as thread-safe.
        lock (compileGate)
        {
            return programs.GetOrAdd(expression, environment.Compile);
        }
    }

    /// <summary>JSON as CEL sees it: maps, lists, strings, int/double, bool, null.</summary>
    private static object? ToCel(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => o.ToDictionary(kv => kv.Key, kv => ToCel(kv.Value), StringComparer.Ordinal),
        JsonArray a => a.Select(ToCel).ToArray(),
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            // The text, whatever CLR number the node was built from (an int is not a long to GetValue).
            JsonValueKind.Number when long.TryParse(v.ToJsonString(), CultureInfo.InvariantCulture, out var l) => l,
            JsonValueKind.Number => double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture),
            _ => null,
        },
        _ => throw new ArgumentOutOfRangeException(nameof(node), node.GetType().Name),
    };

    /// <summary>cel-go's <c>trim()</c> is Go's strings.TrimSpace: unicode.IsSpace on both ends.</summary>
    internal static string TrimSpace(string value) => value.Trim(GoSpaces);

    /// <summary>cel-go's <c>lowerAscii()</c>: only A-Z change.</summary>
    internal static string LowerAscii(string value)
    {
        var builder = new StringBuilder(value);
        for (var i = 0; i < builder.Length; i++)
        {
            if (builder[i] is >= 'A' and <= 'Z')
            {
                builder[i] = (char)(builder[i] + ('a' - 'A'));
            }
        }

        return builder.ToString();
    }

    private static string UpperAscii(string value)
    {
        var builder = new StringBuilder(value);
        for (var i = 0; i < builder.Length; i++)
        {
            if (builder[i] is >= 'a' and <= 'z')
            {
                builder[i] = (char)(builder[i] - ('a' - 'A'));
            }
        }

        return builder.ToString();
    }

    /// <summary>cel-go's <c>split(sep)</c> is Go's strings.Split: an empty separator splits into characters.</summary>
    private static object?[] Split(string value, string separator) => separator.Length == 0
        ? [.. value.EnumerateRunes().Select(r => (object?)r.ToString())]
        : [.. value.Split(separator).Select(s => (object?)s)];

    /// <summary>Go's unicode.IsSpace, listed rather than taken from char.IsWhiteSpace so the fake states the API server's rule.</summary>
    private static readonly char[] GoSpaces =
    [
        '\t', '\n', '\v', '\f', '\r', ' ', '\u0085', '\u00A0', '\u1680',
        '\u2000', '\u2001', '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2007', '\u2008', '\u2009', '\u200A',
        '\u2028', '\u2029', '\u202F', '\u205F', '\u3000',
    ];
}
