namespace SidecarInjector.Operator.Hosting;

/// <summary>The operator's configuration is unusable; the message is the one line printed.</summary>
public sealed class OperatorConfigurationException(string message) : Exception(message);
