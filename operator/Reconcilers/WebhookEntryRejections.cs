using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>
/// Webhook entries the API server refused (422), by policy: such a policy is not Ready (reason
/// <see cref="Reason"/>, the API server's message) and gets no entry, so the other policies' entries
/// are still written. A rejection holds while the policy keeps its generation and renders the same
/// entry; once the policy is edited (or the operator's configuration changes the entry), the entry
/// is tried again.
/// </summary>
public sealed class WebhookEntryRejections(OperatorOptions options)
{
    public const string Reason = "WebhookEntryRejected";

    private readonly ConcurrentDictionary<string, (long? Generation, JsonNode Entry, string Message)> rejected = new(StringComparer.Ordinal);

    public void Record(SidecarPolicy policy, string message) => rejected[policy.Name] = (policy.Metadata.Generation, Entry(policy), message);

    /// <summary><paramref name="evaluations"/>, with the Ready policies whose current entry was refused marked not Ready.</summary>
    public IReadOnlyDictionary<string, PolicyEvaluation> Apply(IReadOnlyDictionary<string, PolicyEvaluation> evaluations, IEnumerable<SidecarPolicy> policies)
    {
        if (rejected.IsEmpty)
        {
            return evaluations;
        }

        var result = new Dictionary<string, PolicyEvaluation>(evaluations, StringComparer.Ordinal);
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var policy in policies)
        {
            present.Add(policy.Name);
            if (!rejected.TryGetValue(policy.Name, out var rejection) || !result.TryGetValue(policy.Name, out var evaluation) || !evaluation.Ready)
            {
                continue;
            }

            if (rejection.Generation == policy.Metadata.Generation && JsonNode.DeepEquals(rejection.Entry, Entry(policy)))
            {
                result[policy.Name] = new PolicyEvaluation(policy.Name, [new ValidationProblem("spec", rejection.Message)], Reason);
            }
            else
            {
                rejected.TryRemove(policy.Name, out _);
            }
        }

        foreach (var name in rejected.Keys.Where(n => !present.Contains(n)))
        {
            rejected.TryRemove(name, out _);
        }

        return result;
    }

    /// <summary>The policy's entry as the operator renders it, without the caBundle (a rotated CA must not retry a bad entry, nor excuse one).</summary>
    private JsonNode Entry(SidecarPolicy policy) =>
        WebhookConfigurationComparer.Canonical(ApiJson.SerializeToNode(WebhookConfigurationBuilder.Build([policy], options, caBundle: null).Webhooks[0]));
}
