using SidecarInjector.Crds.Hashing;
using SidecarInjector.Crds.Serialization;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Crds.Tests.Hashing;

public sealed class TemplateHashTests
{
    private static string Sample => File.ReadAllText(RepoPaths.Of("crds", "samples", "logging-policy.yaml"));

    [Fact]
    public void Same_spec_gives_the_same_hash_every_time()
    {
        var a = TemplateHash.Compute(PolicyLoader.Parse(Sample, "a")[0].Spec);
        var b = TemplateHash.Compute(PolicyLoader.Parse(Sample, "b")[0].Spec);
        Assert.Equal(a, b);
        Assert.Equal(TemplateHash.Length, a.Length);
    }

    [Fact]
    public void Defaults_written_out_by_the_api_server_do_not_change_the_hash()
    {
        var defaulted = Sample.Replace("    type: Logging\n", "    type: Logging\n    native: true\n", StringComparison.Ordinal)
            .Replace("      format: auto\n", "      format: auto\n      readFrom: head\n      pollIntervalMs: 250\n", StringComparison.Ordinal);
        Assert.NotEqual(Sample, defaulted);
        Assert.Equal(TemplateHash.Compute(PolicyLoader.Parse(Sample, "a")[0].Spec), TemplateHash.Compute(PolicyLoader.Parse(defaulted, "b")[0].Spec));
    }

    [Fact]
    public void Changing_what_is_injected_changes_the_hash_and_selectors_do_not()
    {
        var baseHash = TemplateHash.Compute(PolicyLoader.Parse(Sample, "a")[0].Spec);
        var image = Sample.Replace("log-shipper:0.1.0", "log-shipper:0.2.0", StringComparison.Ordinal);
        var priority = Sample.Replace("priority: 100", "priority: 7", StringComparison.Ordinal);
        Assert.NotEqual(baseHash, TemplateHash.Compute(PolicyLoader.Parse(image, "b")[0].Spec));
        Assert.Equal(baseHash, TemplateHash.Compute(PolicyLoader.Parse(priority, "c")[0].Spec));
    }
}
