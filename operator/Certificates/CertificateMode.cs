using System.Text.Json.Serialization;

namespace SidecarInjector.Operator.Certificates;

[JsonConverter(typeof(JsonStringEnumConverter<CertificateMode>))]
public enum CertificateMode
{
    SelfSigned,
    CertManager,
}
