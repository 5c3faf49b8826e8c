using SidecarInjector.Operator.Informers;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>
/// Every policy's evaluation over the informers' caches, with the webhook entries the API server
/// refused applied; shared by the reconcilers so they agree on which policies are Ready.
/// </summary>
public sealed class PolicyEvaluations(ClusterInformers informers, OperatorOptions options)
{
    private readonly Lock evaluationLock = new();
    private (long Version, string Policies, IReadOnlyDictionary<string, PolicyEvaluation> Result)? evaluation;

    /// <summary>Webhook entries the API server refused; their policies evaluate as not Ready.</summary>
    public WebhookEntryRejections Rejections { get; } = new(options);

    /// <summary>
    /// Computed again only when a policy's spec or a selection in the index changed: each
    /// reconcile asks, and most reconciles follow changes that alter neither.
    /// </summary>
    public IReadOnlyDictionary<string, PolicyEvaluation> Evaluate()
    {
        var version = informers.Index.Version;
        var policies = informers.Policies.List();
        var signature = string.Join(",", policies.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => $"{p.Name}@{p.Metadata?.Generation}/{p.Metadata?.Uid}"));
        lock (evaluationLock)
        {
            if (evaluation is { } cached && cached.Version == version && cached.Policies == signature)
            {
                return Rejections.Apply(cached.Result, policies);
            }

            var result = PolicyEvaluator.Evaluate(policies, (a, b) => informers.Index.SelectSamePod(a.Name, b.Name));
            evaluation = (version, signature, result);
            return Rejections.Apply(result, policies);
        }
    }
}
