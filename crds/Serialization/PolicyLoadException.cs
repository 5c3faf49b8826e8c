namespace SidecarInjector.Crds.Serialization;

/// <summary>Policies that could not be loaded; the message names the file and the document.</summary>
public sealed class PolicyLoadException(string message) : Exception(message);
