namespace SidecarInjector.SidecarConfig.Serialization;

/// <summary>A YAML or JSON stream that could not be parsed; <see cref="Document"/> is 1-based.</summary>
public sealed class YamlJsonException(int document, string detail, Exception? inner = null)
    : Exception($"document {document}: {detail}", inner)
{
    public int Document { get; } = document;

    public string Detail { get; } = detail;
}
