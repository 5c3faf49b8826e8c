using System.Net;
using System.Text.Json.Nodes;

namespace SidecarInjector.Webhook.Tests.Admission;

/// <summary>--policies: files watched and reloaded without a restart, with bad edits kept out.</summary>
[Trait("Category", "Integration")]
public sealed class FilePolicySourceTests
{
    [Fact]
    public async Task Picks_up_a_new_policy_file_without_a_restart()
    {
        await using var server = await AdmissionTestServer.StartAsync(new Dictionary<string, string> { ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs") });
        var client = server.Client();
        Assert.False(await InjectsAsync(client, "/mutate/audit"));

        await File.WriteAllTextAsync(Path.Combine(server.PolicyDirectory, "audit.yaml"), AdmissionFixtures.LoggingPolicy("audit", volume: "audit-logs"), TestContext.Current.CancellationToken);

        await ServingCertificateTests.WaitUntilAsync(async () => await InjectsAsync(client, "/mutate/audit"), "the new policy");
        var response = await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview(), "/mutate/audit");
        Assert.Equal("audit", response["auditAnnotations"]!["injected-policies"]!.GetValue<string>());
    }

    [Fact]
    public async Task Keeps_the_last_good_policies_of_a_file_that_stops_parsing()
    {
        await using var server = await AdmissionTestServer.StartAsync(new Dictionary<string, string> { ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs") });
        var client = server.Client();

        // Replaced in one rename, as the kubelet updates a ConfigMap volume: written in place, the file is
        // empty for a moment, and a reload then would load it as no policies, which is not a parse failure.
        var staged = Path.Combine(server.PolicyDirectory, "logs.yaml.tmp");
        await File.WriteAllTextAsync(staged, "apiVersion: sidecarinjector.io/v1alpha1\nkind: SidecarPolicy\nmetadata: {name: logs\n  spec: [", TestContext.Current.CancellationToken);
        File.Move(staged, Path.Combine(server.PolicyDirectory, "logs.yaml"), overwrite: true);
        await File.WriteAllTextAsync(Path.Combine(server.PolicyDirectory, "audit.yaml"), AdmissionFixtures.LoggingPolicy("audit", volume: "audit-logs"), TestContext.Current.CancellationToken);
        await ServingCertificateTests.WaitUntilAsync(async () => await InjectsAsync(client, "/mutate/audit"), "the reload that saw both files");

        var response = await server.ReviewAsync(client, AdmissionFixtures.DeploymentReview(), "/mutate/logs");
        Assert.Equal("logs", response["auditAnnotations"]!["injected-policies"]!.GetValue<string>());
    }

    [Fact]
    public async Task Drops_the_policies_of_a_deleted_file()
    {
        await using var server = await AdmissionTestServer.StartAsync(new Dictionary<string, string>
        {
            ["logs.yaml"] = AdmissionFixtures.LoggingPolicy("logs"),
            ["audit.yaml"] = AdmissionFixtures.LoggingPolicy("audit", volume: "audit-logs"),
        });
        var client = server.Client();
        Assert.True(await InjectsAsync(client, "/mutate/audit"));

        File.Delete(Path.Combine(server.PolicyDirectory, "audit.yaml"));

        await ServingCertificateTests.WaitUntilAsync(async () => !await InjectsAsync(client, "/mutate/audit"), "the policy gone");
        Assert.True(await InjectsAsync(client, "/mutate/logs"));
    }

    /// <summary>Whether the policy on this path is in force: an unknown one admits the pod unchanged.</summary>
    private static async Task<bool> InjectsAsync(HttpClient client, string path)
    {
        using var response = await client.PostAsync(path, AdmissionFixtures.Json(AdmissionFixtures.DeploymentReview()), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!["response"]!;
        return body["patch"] is not null;
    }
}
