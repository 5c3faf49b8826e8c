namespace SidecarInjector.Crds.Schema;

/// <summary>
/// The values a list's items may take, read from a static property of <paramref name="source"/>
/// (an <c>IReadOnlyList&lt;string&gt;</c>) so that a list derived from other types is written once.
/// The CRD generator writes it as the items' <c>enum</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ItemsAllowedValuesFromAttribute(Type source, string property) : Attribute
{
    public IReadOnlyList<string> Values =>
        (IReadOnlyList<string>)(source.GetProperty(property)?.GetValue(null)
            ?? throw new InvalidOperationException($"{source.Name}.{property} is not a static property"));
}
