namespace SidecarInjector.Crds.Schema;

/// <summary>
/// A CEL validation rule (<c>x-kubernetes-validations</c>) the CRD generator writes into the
/// schema of the class or property it decorates. <see cref="Validation.SidecarPolicyValidator"/>
/// enforces the same rule in C# so that offline tools reject what the API server would.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Property, AllowMultiple = true)]
public sealed class CelRuleAttribute(string rule, string message) : Attribute
{
    public string Rule { get; } = rule;

    public string Message { get; } = message;
}
