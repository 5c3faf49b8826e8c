using System.CommandLine;
using SidecarInjector.Webhook.Cli;

// The webhook executable: `serve` runs the admission webhook, `inject` runs the same engine
// over manifests offline, `explain` over an object read from a cluster. Each command lives in Cli/ and composes its own services.
var root = new RootCommand("SidecarInjector webhook: injects logging, ambassador and adapter sidecars into pods.")
{
    ServeCommand.Create(),
    InjectCommand.Create(),
    ExplainCommand.Create(),
};

// No termination timeout: System.CommandLine would otherwise end the process 2 s after SIGTERM,
// cutting short the host's graceful shutdown of in-flight admission reviews.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
