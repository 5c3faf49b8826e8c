namespace SidecarInjector.SidecarConfig;

/// <summary>Configuration a sidecar cannot start with; the message is meant for the operator's eyes as is.</summary>
public sealed class SidecarConfigException(string message) : Exception(message);
