using System.Text;
using k8s;
using k8s.Models;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.Operator.Certificates;
using SidecarInjector.Operator.Informers;
using SidecarInjector.Operator.Queue;

namespace SidecarInjector.Operator.Reconcilers;

/// <summary>
/// Keeps the one MutatingWebhookConfiguration the operator owns equal to what the Ready policies
/// need: entries of deleted or not-Ready policies go, hand-made drift is put back.
/// </summary>
public sealed class WebhookConfigurationReconciler(
    IKubernetes client,
    ClusterInformers informers,
    PolicyEvaluations evaluations,
    OperatorOptions options,
    ILogger<WebhookConfigurationReconciler> logger,
    Action<string>? onRejected = null) : IReconciler
{
    public const string Key = "webhook-configuration";

    /// <summary>Writes refused in one reconcile before it gives up and backs off (each round drops at least one entry).</summary>
    private const int MaxRejectionRounds = 8;

    public string Name => "webhookconfiguration";

    public async Task<ReconcileResult> ReconcileAsync(string key, CancellationToken cancellationToken)
    {
        byte[]? caBundle = null;
        if (options.CertificateMode == CertificateMode.SelfSigned)
        {
            caBundle = await ReadCaBundleAsync(cancellationToken);
            if (caBundle is null)
            {
                Log.WaitingForCertificates(logger, options.InstallNamespace, options.CaSecretName);
                return ReconcileResult.After(TimeSpan.FromSeconds(2));
            }
        }

        // One refused entry must not hold the others hostage: each 422 that names entries marks
        // their policies not Ready (so they drop out) and the rest is written again.
        for (var attempt = 1; ; attempt++)
        {
            var evaluated = evaluations.Evaluate();
            var ready = informers.Policies.List().Where(p => evaluated.TryGetValue(p.Name, out var e) && e.Ready).ToList();
            try
            {
                await WriteAsync(ready, caBundle, cancellationToken);
                return ReconcileResult.Done;
            }
            catch (k8s.Autorest.HttpOperationException e) when ((int)e.Response.StatusCode == 422 && attempt <= MaxRejectionRounds)
            {
                // The entries in the order they were sent, so an index in the 422 names a policy.
                var sent = WebhookConfigurationBuilder.Build(ready, options, caBundle: null).Webhooks;
                var policies = WebhookEntryErrors.ByEntry(e.Response.Content ?? e.Message)
                    .Where(o => o.Key < sent.Count)
                    .Select(o => (Policy: ready.Single(p => WebhookConfigurationBuilder.WebhookName(p.Name) == sent[o.Key].Name), Message: o.Value))
                    .ToList();
                if (policies.Count == 0)
                {
                    throw;
                }

                foreach (var (policy, message) in policies)
                {
                    Log.WebhookEntryRejected(logger, policy.Name, message);
                    evaluations.Rejections.Record(policy, $"the API server refused this policy's webhook entry: {message}");
                    onRejected?.Invoke(policy.Name);
                }
            }
        }
    }

    private async Task WriteAsync(List<SidecarPolicy> ready, byte[]? caBundle, CancellationToken cancellationToken)
    {
        await ConflictRetry.Pipeline.ExecuteAsync(async ct =>
        {
            V1MutatingWebhookConfiguration? live;
            try
            {
                live = await client.AdmissionregistrationV1.ReadMutatingWebhookConfigurationAsync(options.WebhookConfigurationName, cancellationToken: ct);
            }
            catch (Exception e) when (ConflictRetry.IsNotFound(e))
            {
                live = null;
            }

            if (options.CertificateMode == CertificateMode.CertManager)
            {
                // cert-manager's cainjector owns caBundle in this mode: keep what it wrote.
                caBundle = live?.Webhooks?.Select(w => w.ClientConfig?.CaBundle).FirstOrDefault(b => b is { Length: > 0 });
            }

            var desired = WebhookConfigurationBuilder.Build(ready, options, caBundle);
            if (live is null)
            {
                await client.AdmissionregistrationV1.CreateMutatingWebhookConfigurationAsync(desired, cancellationToken: ct);
                Log.WebhookConfigurationWritten(logger, desired.Metadata.Name, "created", desired.Webhooks.Count);
                return;
            }

            var labels = live.Metadata.Labels ?? new Dictionary<string, string>();
            var annotations = live.Metadata.Annotations ?? new Dictionary<string, string>();
            var same = WebhookConfigurationComparer.SameWebhooks(ApiJson.SerializeToNode(live.Webhooks ?? []), ApiJson.SerializeToNode(desired.Webhooks))
                && desired.Metadata.Labels.All(l => labels.TryGetValue(l.Key, out var v) && v == l.Value)
                && (desired.Metadata.Annotations ?? new Dictionary<string, string>()).All(a => annotations.TryGetValue(a.Key, out var v) && v == a.Value);
            if (same)
            {
                return;
            }

            foreach (var (k, v) in desired.Metadata.Labels)
            {
                labels[k] = v;
            }

            foreach (var (k, v) in desired.Metadata.Annotations ?? new Dictionary<string, string>())
            {
                annotations[k] = v;
            }

            live.Metadata.Labels = labels;
            live.Metadata.Annotations = annotations;
            live.Webhooks = desired.Webhooks;
            await client.AdmissionregistrationV1.ReplaceMutatingWebhookConfigurationAsync(live, live.Metadata.Name, cancellationToken: ct);
            Log.WebhookConfigurationWritten(logger, live.Metadata.Name, "updated", desired.Webhooks.Count);
        }, cancellationToken);
    }

    private async Task<byte[]?> ReadCaBundleAsync(CancellationToken cancellationToken)
    {
        try
        {
            var secret = await client.CoreV1.ReadNamespacedSecretAsync(options.CaSecretName, options.InstallNamespace, cancellationToken: cancellationToken);
            return secret.Data?.TryGetValue(CertificateReconciler.CaBundleKey, out var bundle) == true && bundle.Length > 0
                ? Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(bundle))
                : null;
        }
        catch (Exception e) when (ConflictRetry.IsNotFound(e))
        {
            return null;
        }
    }
}
