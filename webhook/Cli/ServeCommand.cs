using System.CommandLine;
using SidecarInjector.Webhook.Admission;

namespace SidecarInjector.Webhook.Cli;

/// <summary><c>serve</c>: the admission webhook over HTTPS. Flags override the <c>Webhook</c> configuration section.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "HTTPS port (default 8443)." };
        var tlsCert = new Option<FileInfo>("--tls-cert") { Description = "PEM serving certificate; reloaded when it changes." };
        var tlsKey = new Option<FileInfo>("--tls-key") { Description = "PEM private key of --tls-cert." };
        var policies = new Option<string>("--policies") { Description = "Serve SidecarPolicies from this file or directory (watched) instead of the cluster." };
        var clientCa = new Option<FileInfo>("--client-ca") { Description = "POST /mutate requires a client certificate signed by one of these PEM CAs (probes and /metrics stay open); reloaded when it changes." };
        var command = new Command("serve", "Run the admission webhook over HTTPS.") { port, tlsCert, tlsKey, policies, clientCa };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var overrides = new Dictionary<string, string?>(StringComparer.Ordinal);
            void Override(string key, string? value)
            {
                if (value is not null)
                {
                    overrides[$"{AdmissionOptions.SectionName}:{key}"] = value;
                }
            }

            Override(nameof(AdmissionOptions.Port), parse.GetResult(port) is null ? null : parse.GetValue(port).ToString(System.Globalization.CultureInfo.InvariantCulture));
            Override(nameof(AdmissionOptions.TlsCertFile), parse.GetValue(tlsCert)?.FullName);
            Override(nameof(AdmissionOptions.TlsKeyFile), parse.GetValue(tlsKey)?.FullName);
            Override(nameof(AdmissionOptions.Policies), parse.GetValue(policies));
            Override(nameof(AdmissionOptions.ClientCaFile), parse.GetValue(clientCa)?.FullName);
            return await ServeAsync(overrides, cancellationToken);
        });
        return command;
    }

    private static async Task<int> ServeAsync(Dictionary<string, string?> overrides, CancellationToken cancellationToken)
    {
        var builder = AdmissionServer.CreateBuilder(overrides);
        AdmissionOptions options;
        try
        {
            options = AdmissionServer.BindOptions(builder.Configuration);
        }
        catch (InvalidOperationException e)
        {
            await Console.Error.WriteLineAsync($"serve: {e.Message}");
            return 2;
        }

        var problems = AdmissionOptionsValidator.Problems(options);
        if (problems.Count > 0)
        {
            foreach (var problem in problems)
            {
                await Console.Error.WriteLineAsync($"serve: {problem}");
            }

            return 2;
        }

        Microsoft.AspNetCore.Builder.WebApplication app;
        try
        {
            app = AdmissionServer.Build(builder, options);
        }
        catch (CertificateLoadException e)
        {
            await Console.Error.WriteLineAsync($"serve: {e.Message}");
            return 2;
        }
        catch (k8s.Exceptions.KubeConfigException e)
        {
            await Console.Error.WriteLineAsync($"serve: no --policies, so policies come from the cluster, but there is no cluster to talk to: {e.Message}");
            return 2;
        }

        await using (app)
        {
            // System.CommandLine cancels on SIGINT/SIGTERM; the host then drains in-flight reviews.
            using var stop = cancellationToken.Register(() => app.Lifetime.StopApplication());
            await app.RunAsync();
        }

        return 0;
    }
}
