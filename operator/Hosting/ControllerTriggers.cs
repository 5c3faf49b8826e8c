using k8s.Models;
using SidecarInjector.Crds.Informers;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Operator.Certificates;
using SidecarInjector.Operator.Informers;
using SidecarInjector.Operator.Reconcilers;

namespace SidecarInjector.Operator.Hosting;

/// <summary>Which informer event wakes which controller: the one place events become queue keys.</summary>
public static class ControllerTriggers
{
    public static void Connect(ClusterInformers informers, ControllerQueues queues, OperatorOptions options)
    {
        void PolicyChanged()
        {
            EnqueueAllPolicies(informers, queues);
            queues.WebhookConfiguration.Add(WebhookConfigurationReconciler.Key);
        }

        // A policy change can change which other policies conflict with it: look at all of them.
        // Only a spec change (generation) counts: our own status writes come back as updates too.
        informers.Policies.AddHandler(new ResourceEventHandler<SidecarPolicy>
        {
            OnAdded = _ => PolicyChanged(),
            OnUpdated = (old, updated) =>
            {
                if (old.Metadata?.Generation != updated.Metadata?.Generation)
                {
                    PolicyChanged();
                }
            },
            OnDeleted = _ => PolicyChanged(),
        });

        // Pods reach the controllers through the index, which tells what a pod event changed.
        informers.Index.Changed = change =>
        {
            foreach (var policy in change.Policies)
            {
                queues.Policies.Add(policy);
                queues.Rollouts.Add(policy);
            }

            if (change.ConflictsMayChange)
            {
                PolicyChanged();
            }
        };
        informers.Namespaces.AddHandler(new ResourceEventHandler<V1Namespace>
        {
            OnUpdated = (old, updated) =>
            {
                if (!LabelsEqual(old.Metadata?.Labels, updated.Metadata?.Labels))
                {
                    PolicyChanged();
                }
            },
        });

        // The certificates controller waits for a new CA to reach every webhook entry's caBundle.
        informers.WebhookConfigurations.AddHandler(new ResourceEventHandler<V1MutatingWebhookConfiguration>
        {
            OnAdded = _ => WebhookConfigurationChanged(queues),
            OnUpdated = (_, _) => WebhookConfigurationChanged(queues),
            OnDeleted = _ => WebhookConfigurationChanged(queues),
        });

        // A certificate Secret deleted or edited by hand is put back within seconds, not at the next renewal.
        void SecretChanged(PartialObjectMetadata secret)
        {
            if (secret.Metadata?.Name is { } name && (name == options.CaSecretName || name == options.TlsSecretName))
            {
                queues.Certificates.Add(CertificateReconciler.Key);
            }
        }

        informers.Secrets?.AddHandler(new ResourceEventHandler<PartialObjectMetadata>
        {
            OnUpdated = (_, updated) => SecretChanged(updated),
            OnDeleted = SecretChanged,
        });
    }

    public static void EnqueueAllPolicies(ClusterInformers informers, ControllerQueues queues)
    {
        foreach (var key in informers.Policies.Keys)
        {
            queues.Policies.Add(key);
            queues.Rollouts.Add(key);
        }
    }

    private static void WebhookConfigurationChanged(ControllerQueues queues)
    {
        queues.WebhookConfiguration.Add(WebhookConfigurationReconciler.Key);
        queues.Certificates.Add(CertificateReconciler.Key);
    }

    private static bool LabelsEqual(IDictionary<string, string>? a, IDictionary<string, string>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0) && (a is null || a.All(kv => b!.TryGetValue(kv.Key, out var v) && v == kv.Value));
}
