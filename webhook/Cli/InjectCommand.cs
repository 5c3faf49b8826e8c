using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Crds.V1Alpha1;
using SidecarInjector.SidecarConfig.Serialization;
using SidecarInjector.Webhook.Injection;

namespace SidecarInjector.Webhook.Cli;

/// <summary>
/// <c>inject</c>: the webhook's engine over manifests, offline, for GitOps pipelines and for
/// trying policies without a cluster. Injected documents go to stdout as YAML; warnings,
/// decisions and errors go to stderr.
/// </summary>
public static class InjectCommand
{
    public static Command Create()
    {
        var file = new Option<string>("--file", "-f")
        {
            Description = "Manifests to inject: a YAML/JSON file (multi-document), a directory of them, or - for stdin.",
            Required = true,
        };
        var policies = new Option<string>("--policies", "-p")
        {
            Description = "SidecarPolicy YAML/JSON: a file or a directory of them.",
            Required = true,
        };
        var ns = new Option<string?>("--namespace", "-n")
        {
            Description = "Namespace of documents that do not set metadata.namespace (default: default).",
        };
        var nsLabels = new Option<string?>("--namespace-labels")
        {
            Description = "Labels of that namespace, k=v,k2=v2. Without them namespaceSelector is not evaluated.",
        };
        var explain = new Option<bool>("--explain")
        {
            Description = "Print, for every pod and policy, why it was or was not injected, and each injected sidecar's effective configuration (the policy's, with the pod's accepted overrides).",
        };

        var command = new Command("inject", "Inject sidecars into manifests offline, exactly as the webhook would.")
        {
            file, policies, ns, nsLabels, explain,
        };
        command.SetAction(result => Run(
            result.GetValue(file)!,
            result.GetValue(policies)!,
            result.GetValue(ns),
            result.GetValue(nsLabels),
            result.GetValue(explain),
            Console.In,
            Console.Out,
            Console.Error));
        return command;
    }

    /// <summary>The command's work with its streams passed in, so tests run it in-process.</summary>
    public static int Run(string file, string policiesPath, string? ns, string? namespaceLabels, bool explain, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            var labels = ParseLabels(namespaceLabels);
            var policySet = LoadPolicies(policiesPath);
            if (labels is null)
            {
                stderr.WriteLine("inject: note: no --namespace-labels given, so namespaceSelector is not evaluated (every namespace matches)");
            }

            var output = new List<JsonNode>();
            foreach (var (source, text) in ReadInputs(file, stdin))
            {
                IReadOnlyList<JsonNode> documents;
                try
                {
                    documents = YamlJson.ParseDocuments(text);
                }
                catch (YamlJsonException e)
                {
                    throw new CommandException($"{source}: {e.Message}");
                }

                ManifestResult result;
                try
                {
                    result = ManifestInjector.Inject(documents, policySet, ns, labels);
                }
                catch (InjectionException e)
                {
                    throw new CommandException($"{source}: {e.Message}");
                }

                foreach (var report in result.Reports)
                {
                    foreach (var warning in report.Result.Warnings)
                    {
                        stderr.WriteLine($"inject: warning: {source}: {report.Where}: {warning}");
                    }

                    if (explain)
                    {
                        foreach (var decision in report.Result.Decisions)
                        {
                            foreach (var line in DecisionLines("inject", source, report, decision))
                            {
                                stderr.WriteLine(line);
                            }
                        }
                    }
                }

                output.AddRange(result.Documents);
            }

            var yaml = new StringWriter();
            YamlJson.WriteDocuments(output, yaml);
            stdout.Write(yaml.ToString());
            stdout.Flush();
            return 0;
        }
        catch (CommandException e)
        {
            stderr.WriteLine($"inject: {e.Message}");
            return 1;
        }
    }

    /// <summary>A sidecar's effective configuration on one line: resources, typed section, and what the pod's overrides set.</summary>
    private static string Effective(SidecarSpec sidecar, IReadOnlyList<string>? overridden)
    {
        var line = new StringBuilder(sidecar.Name).Append(": resources ").Append(ApiJson.Serialize(sidecar.Resources));
        object? config = sidecar.Type switch
        {
            SidecarType.Logging => sidecar.Logging,
            SidecarType.Ambassador => sidecar.Ambassador,
            SidecarType.Adapter => sidecar.Adapter,
            _ => null,
        };
        if (config is not null)
        {
            line.Append("; config ").Append(ApiJson.Serialize(config));
        }

        line.Append(overridden is { Count: > 0 } ? $"; overridden: {string.Join(", ", overridden)}" : "; policy defaults");
        return line.ToString();
    }

    private static PolicySet LoadPolicies(string path)
    {
        IReadOnlyList<SidecarPolicy> policies;
        try
        {
            policies = PolicyLoader.Load(path);
        }
        catch (PolicyLoadException e)
        {
            throw new CommandException(e.Message);
        }

        return policies.Count == 0
            ? throw new CommandException($"{path}: no SidecarPolicy found")
            : PolicySet.Create(policies);
    }

    private static IEnumerable<(string Source, string Text)> ReadInputs(string file, TextReader stdin)
    {
        if (file == "-")
        {
            return [("(stdin)", stdin.ReadToEnd())];
        }

        IEnumerable<string> files;
        if (Directory.Exists(file))
        {
            files = Directory.EnumerateFiles(file, "*", SearchOption.AllDirectories)
                .Where(f => Path.GetExtension(f) is ".yaml" or ".yml" or ".json")
                .Where(f => !Path.GetFileName(f).StartsWith("kustomization.", StringComparison.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal);
        }
        else if (File.Exists(file))
        {
            files = [file];
        }
        else
        {
            throw new CommandException($"{file}: no such file or directory");
        }

        return files.Select(f =>
        {
            try
            {
                return (f, File.ReadAllText(f, Encoding.UTF8));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CommandException($"{f}: cannot read: {e.Message}");
            }
        }).ToList();
    }

    /// <summary>One line of <c>--explain</c>; <c>explain</c> prints the same lines for objects read from a cluster.</summary>
    /// <summary>The decision, then each sidecar as the pod gets it (with the fields its overrides set).</summary>
    internal static IEnumerable<string> DecisionLines(string command, string source, ManifestReport report, PolicyDecision decision)
    {
        var prefix = $"{command}: {source}: {report.Where}: {decision.Policy}";
        yield return $"{prefix}: {(decision.Injected ? "injected" : "skipped")}: {decision.Reason}";
        foreach (var sidecar in decision.Sidecars)
        {
            yield return $"{prefix}: sidecar {Effective(sidecar, decision.Overridden.GetValueOrDefault(sidecar.Name))}";
        }
    }

    internal static Dictionary<string, string>? ParseLabels(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new CommandException($"--namespace-labels: '{pair}' is not key=value");
            }

            labels[pair[..eq]] = pair[(eq + 1)..];
        }

        return labels;
    }

    private sealed class CommandException(string message) : Exception(message);
}
