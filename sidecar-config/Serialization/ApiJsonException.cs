namespace SidecarInjector.SidecarConfig.Serialization;

/// <summary>A document that is valid JSON but does not fit the type; <see cref="Field"/> is a dotted path.</summary>
public sealed class ApiJsonException(string field, string problem, Exception? inner = null)
    : Exception($"{field}: {problem}", inner)
{
    public string Field { get; } = field;

    public string Problem { get; } = problem;
}
