using System.CommandLine;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Operator.Certificates;
using SidecarInjector.Operator.Reconcilers;
using SidecarInjector.SidecarConfig.Serialization;

namespace SidecarInjector.Operator.Cli;

/// <summary><c>render --policies FILE|DIR --namespace NS</c>: the MutatingWebhookConfiguration the operator would own, as YAML.</summary>
public static class RenderCommand
{
    public static Command Create()
    {
        var policies = new Option<string>("--policies") { Description = "A SidecarPolicy file or a directory of them.", Required = true };
        var ns = new Option<string>("--namespace") { Description = "The install namespace (of the webhook Service; never injected).", DefaultValueFactory = _ => "sidecar-injector" };
        var service = new Option<string>("--service") { Description = "The webhook Service name.", DefaultValueFactory = _ => "sidecar-injector-webhook" };
        var caBundle = new Option<FileInfo?>("--ca-bundle") { Description = "PEM CA bundle to put in caBundle; left empty without it." };
        var certManager = new Option<string?>("--cert-manager") { Description = "Annotate for cert-manager's CA injection from this Certificate (namespace/name)." };
        var command = new Command("render", "Print the MutatingWebhookConfiguration the operator would own for these policies.") { policies, ns, service, caBundle, certManager };
        command.SetAction(parse =>
        {
            try
            {
                Console.Out.Write(Render(parse.GetValue(policies)!, parse.GetValue(ns)!, parse.GetValue(service)!, parse.GetValue(caBundle), parse.GetValue(certManager), Console.Error));
                return 0;
            }
            catch (Exception e) when (e is PolicyLoadException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                Console.Error.WriteLine($"render: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    public static string Render(string policiesPath, string @namespace, string service, FileInfo? caBundle, string? certManagerCertificate, TextWriter warnings)
    {
        var options = new OperatorOptions
        {
            InstallNamespace = @namespace,
            WebhookServiceName = service,
            CertificateMode = certManagerCertificate is null ? CertificateMode.SelfSigned : CertificateMode.CertManager,
            CertManagerCertificate = certManagerCertificate ?? string.Empty,
        };
        var loaded = PolicyLoader.Load(policiesPath);
        var evaluations = PolicyEvaluator.Evaluate(loaded, []);
        foreach (var notReady in evaluations.Values.Where(e => !e.Ready).OrderBy(e => e.Policy, StringComparer.Ordinal))
        {
            warnings.WriteLine($"render: SidecarPolicy '{notReady.Policy}' left out ({notReady.Reason}): {notReady.Message}");
        }

        var bundle = caBundle is null ? null : File.ReadAllBytes(caBundle.FullName);
        var configuration = WebhookConfigurationBuilder.Build(loaded.Where(p => evaluations[p.Name].Ready), options, bundle);
        return YamlJson.Serialize(ApiJson.SerializeToNode(configuration));
    }
}
