using SidecarInjector.Webhook.Injection;

namespace SidecarInjector.Webhook.Admission;

/// <summary>Where the webhook's policies (and namespace labels, when it knows them) come from: files or the cluster.</summary>
public interface IPolicySource
{
    /// <summary>The current snapshot; replaced as a whole on every change, so readers never lock.</summary>
    PolicySet Current { get; }

    /// <summary>True once the first complete load is in <see cref="Current"/>; readiness waits for it.</summary>
    bool IsSynced { get; }

    /// <summary>The namespace's labels, or null when unknown (then namespaceSelector is left to the API server).</summary>
    IReadOnlyDictionary<string, string>? NamespaceLabels(string? @namespace);

    /// <summary>
    /// A policy <see cref="Current"/> does not have, from the source itself: the webhook's cache
    /// may lag the operator, which adds a policy's webhook as soon as the policy is Ready.
    /// </summary>
    ValueTask<PolicyLookup> LookupAsync(string name, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new PolicyLookup(null, "not in the webhook's policies"));
}
