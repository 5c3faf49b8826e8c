namespace SidecarInjector.Crds.Schema;

/// <summary>
/// A CEL validation rule (<c>x-kubernetes-validations</c>) the CRD generator writes into the
/// schema of the class or property it decorates. <see cref="Validation.SidecarPolicyValidator"/>
/// enforces the same rule in C# so that offline tools reject what the API server would.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Property, AllowMultiple = true)]
public sealed class CelRuleAttribute : Attribute
{
    public CelRuleAttribute(string rule, string message)
    {
        Rule = rule;
        Message = message;
    }

    /// <summary>A rule generated from other types: the value of a static string property of <paramref name="ruleSource"/>.</summary>
    public CelRuleAttribute(Type ruleSource, string ruleProperty, string message)
    {
        Rule = (string)(ruleSource.GetProperty(ruleProperty)?.GetValue(null)
            ?? throw new InvalidOperationException($"{ruleSource.Name}.{ruleProperty} is not a static property"));
        Message = message;
    }

    public string Rule { get; }

    public string Message { get; }
}
