using System.Text.Json;
using System.Text.Json.Nodes;
using Cel;

namespace SidecarInjector.Testing.FakeApiServer.Validation;

/// <summary>
/// One x-kubernetes-validations rule compiled by the Cel library (a real CEL evaluator), run with
/// <c>self</c> bound to the node as kube-apiserver binds it: objects and maps as CEL maps (so
/// <c>has(self.x)</c> and <c>'k' in self.m</c> work), arrays as lists, integers as int, other
/// numbers as double. Rules over oldSelf (transition rules) are not evaluated.
/// </summary>
public sealed class CelRule
{
    private static readonly CelEnvironment Environment = new(null, null);
    private readonly CelProgramDelegate program;

    public CelRule(string rule, string? message)
    {
        Rule = rule;
        Message = message ?? $"failed rule: {rule}";
        lock (Environment)
        {
            program = Environment.Compile(rule);
        }
    }

    public string Rule { get; }

    public string Message { get; }

    /// <summary>True when the rule holds for <paramref name="self"/>; an evaluation error counts as a failure, as in Kubernetes.</summary>
    public bool Holds(JsonNode? self, out string? error)
    {
        error = null;
        try
        {
            var result = program.Invoke(new Dictionary<string, object?> { ["self"] = ToCel(self) });
            if (result is bool b)
            {
                return b;
            }

            error = $"rule did not evaluate to a bool: {result}";
            return false;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            error = e.Message;
            return false;
        }
    }

    public static object? ToCel(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => o.ToDictionary(kv => kv.Key, kv => ToCel(kv.Value)),
        JsonArray a => a.Select(ToCel).ToList(),
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number when CrdSchemaValidator.IsInteger(v) => long.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture),
            JsonValueKind.Number => CrdSchemaValidator.Number(v),
            _ => null,
        },
        _ => null,
    };
}
