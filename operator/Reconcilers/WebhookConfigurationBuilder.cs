using k8s.Models;
using SidecarInjector.Crds.Selection;
using SidecarInjector.Crds.V1Alpha1;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>
/// The MutatingWebhookConfiguration the operator owns, as a pure function of the Ready policies:
/// one entry per policy, so the API server does the selecting and unmatched pods never reach the webhook.
/// </summary>
public static class WebhookConfigurationBuilder
{
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string ManagedByValue = "sidecar-injector-operator";
    public const string CertManagerInjectAnnotation = "cert-manager.io/inject-ca-from";

    public static V1MutatingWebhookConfiguration Build(IEnumerable<SidecarPolicy> readyPolicies, OperatorOptions options, byte[]? caBundle)
    {
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
        if (options.CertificateMode == Certificates.CertificateMode.CertManager)
        {
            var certificate = options.CertManagerCertificate.Contains('/', StringComparison.Ordinal)
                ? options.CertManagerCertificate
                : $"{options.InstallNamespace}/{options.CertManagerCertificate}";
            annotations[CertManagerInjectAnnotation] = certificate;
        }

        return new V1MutatingWebhookConfiguration
        {
            ApiVersion = "admissionregistration.k8s.io/v1",
            Kind = "MutatingWebhookConfiguration",
            Metadata = new V1ObjectMeta
            {
                Name = options.WebhookConfigurationName,
                Labels = new Dictionary<string, string>(StringComparer.Ordinal) { [ManagedByLabel] = ManagedByValue },
                Annotations = annotations.Count > 0 ? annotations : null,
            },
            Webhooks = [.. readyPolicies
                .OrderByDescending(p => p.Spec.Priority)
                .ThenBy(p => p.Name, StringComparer.Ordinal)
                .Select(p => Webhook(p, options, caBundle))],
        };
    }

    public static string WebhookName(string policy) => $"{policy}.sidecarinjector.io";

    private static V1MutatingWebhook Webhook(SidecarPolicy policy, OperatorOptions options, byte[]? caBundle) => new()
    {
        Name = WebhookName(policy.Name),
        AdmissionReviewVersions = ["v1"],
        SideEffects = "None",
        TimeoutSeconds = options.WebhookTimeoutSeconds,
        ReinvocationPolicy = "IfNeeded",
        MatchPolicy = "Equivalent",
        FailurePolicy = policy.Spec.FailurePolicy.ToString(),
        ClientConfig = new Admissionregistrationv1WebhookClientConfig
        {
            Service = new Admissionregistrationv1ServiceReference
            {
                NamespaceProperty = options.InstallNamespace,
                Name = options.WebhookServiceName,
                Path = $"/mutate/{policy.Name}",
                Port = options.WebhookServicePort,
            },
            CaBundle = caBundle is { Length: > 0 } ? caBundle : null,
        },
        Rules =
        [
            new V1RuleWithOperations
            {
                Operations = ["CREATE"],
                ApiGroups = [string.Empty],
                ApiVersions = ["v1"],
                Resources = ["pods"],
                Scope = "Namespaced",
            },
        ],
        NamespaceSelector = NamespaceSelector(policy.Spec.NamespaceSelector, options.InstallNamespace),
        ObjectSelector = Copy(policy.Spec.PodSelector) ?? new V1LabelSelector(),
        MatchConditions = MatchConditions(policy),
    };

    private static V1LabelSelector NamespaceSelector(V1LabelSelector? selector, string installNamespace)
    {
        var result = Copy(selector) ?? new V1LabelSelector();
        var excluded = Annotations.ProtectedNamespaces.Append(installNamespace).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        result.MatchExpressions = [.. result.MatchExpressions ?? [], new V1LabelSelectorRequirement
        {
            Key = Annotations.NamespaceNameLabel,
            OperatorProperty = "NotIn",
            Values = excluded,
        }];
        return result;
    }

    /// <summary>The opt-in rule is <see cref="OptIn"/>'s, generated as CEL so the API server and the engine decide alike.</summary>
    private static List<V1MatchCondition> MatchConditions(SidecarPolicy policy)
    {
        const string annotations = "object.metadata.annotations";
        return
        [
            new() { Name = "exclude-mirror-pods", Expression = $"!has({annotations}) || !('{Annotations.MirrorPod}' in {annotations})" },
            policy.Spec.Injection == InjectionMode.OptIn
                ? new V1MatchCondition { Name = "opted-in", Expression = OptIn.CelOptedIn(policy.Name) }
                : new V1MatchCondition { Name = "not-opted-out", Expression = OptIn.CelNotOptedOut },
        ];
    }

    private static V1LabelSelector? Copy(V1LabelSelector? selector) => selector is null
        ? null
        : new V1LabelSelector
        {
            MatchLabels = selector.MatchLabels is null ? null : new Dictionary<string, string>(selector.MatchLabels, StringComparer.Ordinal),
            MatchExpressions = selector.MatchExpressions?.Select(e => new V1LabelSelectorRequirement { Key = e.Key, OperatorProperty = e.OperatorProperty, Values = e.Values?.ToList() }).ToList(),
        };
}
