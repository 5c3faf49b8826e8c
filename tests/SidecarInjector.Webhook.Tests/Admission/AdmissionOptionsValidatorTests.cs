using SidecarInjector.Webhook.Admission;

namespace SidecarInjector.Webhook.Tests.Admission;

public sealed class AdmissionOptionsValidatorTests
{
    [Fact]
    public void Names_each_bad_setting_in_one_line()
    {
        var problems = AdmissionOptionsValidator.Problems(new AdmissionOptions
        {
            Port = 70000,
            TlsCertFile = "/nonexistent/tls.crt",
            Policies = "/nonexistent/policies",
            RequestTimeout = TimeSpan.Zero,
        });

        Assert.Contains("port: 70000 is not a TCP port (0-65535)", problems);
        Assert.Contains("tls: --tls-cert and --tls-key must be given together", problems);
        Assert.Contains("tls-cert: /nonexistent/tls.crt: no such file", problems);
        Assert.Contains("policies: /nonexistent/policies: no such file or directory", problems);
        Assert.Contains(problems, p => p.StartsWith("request timeout:", StringComparison.Ordinal));
        Assert.All(problems, p => Assert.DoesNotContain('\n', p));
    }

    [Fact]
    public void Requires_a_certificate_in_the_cluster_but_not_with_policy_files()
    {
        Assert.Contains(AdmissionOptionsValidator.Problems(new AdmissionOptions()), p => p.StartsWith("tls: --tls-cert and --tls-key are required", StringComparison.Ordinal));
        Assert.Empty(AdmissionOptionsValidator.Problems(new AdmissionOptions { Policies = Path.GetTempPath() }));
    }
}
