using System.ComponentModel;
using System.Text.Json.Serialization;

namespace SidecarInjector.SidecarConfig;

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class UpstreamTlsConfig
{
    [JsonPropertyName("caFile")]
    [Description("PEM file of the CA that signed the upstream's certificate; absent uses the system trust store.")]
    public string? CaFile { get; set; }

    [JsonPropertyName("serverName")]
    [Description("Name to verify in the upstream's certificate (SNI); absent uses the URL's host.")]
    public string? ServerName { get; set; }

    [JsonPropertyName("insecureSkipVerify")]
    [Description("Do not verify the upstream's certificate. For tests only.")]
    public bool InsecureSkipVerify { get; set; }
}
