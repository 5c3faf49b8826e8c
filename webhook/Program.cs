using System.CommandLine;
using SidecarInjector.Webhook.Cli;

// The webhook executable: `serve` runs the admission webhook, `inject` runs the same engine
// over manifests offline. Each command lives in Cli/ and composes its own services.
var root = new RootCommand("SidecarInjector webhook: injects logging, ambassador and adapter sidecars into pods.")
{
    ServeCommand.Create(),
    InjectCommand.Create(),
};

return await root.Parse(args).InvokeAsync();
