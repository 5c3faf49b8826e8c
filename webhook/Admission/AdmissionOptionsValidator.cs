using System.Net;
using Microsoft.Extensions.Options;

namespace SidecarInjector.Webhook.Admission;

/// <summary>Checks <see cref="AdmissionOptions"/> at start, one line per problem naming the setting.</summary>
public sealed class AdmissionOptionsValidator : IValidateOptions<AdmissionOptions>
{
    public ValidateOptionsResult Validate(string? name, AdmissionOptions options)
    {
        var problems = Problems(options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    public static IReadOnlyList<string> Problems(AdmissionOptions options)
    {
        var problems = new List<string>();
        if (options.Port is < 0 or > 65535)
        {
            problems.Add($"port: {options.Port} is not a TCP port (0-65535)");
        }

        if (options.ListenAddress != "*" && !IPAddress.TryParse(options.ListenAddress, out _))
        {
            problems.Add($"listen address: '{options.ListenAddress}' is neither * nor an IP address");
        }

        var hasCert = !string.IsNullOrWhiteSpace(options.TlsCertFile);
        var hasKey = !string.IsNullOrWhiteSpace(options.TlsKeyFile);
        if (hasCert != hasKey)
        {
            problems.Add("tls: --tls-cert and --tls-key must be given together");
        }
        else if (!hasCert && !options.FileMode)
        {
            problems.Add("tls: --tls-cert and --tls-key are required in the cluster (a self-signed certificate is only made with --policies)");
        }

        RequireFile(problems, "tls-cert", options.TlsCertFile);
        RequireFile(problems, "tls-key", options.TlsKeyFile);
        RequireFile(problems, "client-ca", options.ClientCaFile);
        if (options.FileMode && !File.Exists(options.Policies) && !Directory.Exists(options.Policies))
        {
            problems.Add($"policies: {options.Policies}: no such file or directory");
        }

        if (options.MaxRequestBodyBytes <= 0)
        {
            problems.Add($"max request body: {options.MaxRequestBodyBytes} must be positive");
        }

        RequirePositive(problems, "request timeout", options.RequestTimeout);
        RequirePositive(problems, "poll interval", options.PollInterval);
        RequirePositive(problems, "shutdown timeout", options.ShutdownTimeout);
        return problems;
    }

    private static void RequireFile(List<string> problems, string setting, string? path)
    {
        if (!string.IsNullOrWhiteSpace(path) && !File.Exists(path))
        {
            problems.Add($"{setting}: {path}: no such file");
        }
    }

    private static void RequirePositive(List<string> problems, string setting, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            problems.Add($"{setting}: {value} must be positive");
        }
    }
}
