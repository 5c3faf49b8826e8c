namespace SidecarInjector.Testing.FakeApiServer;

/// <summary>A matchCondition that does not compile or does not evaluate to a bool.</summary>
public sealed class MatchConditionException(string message, Exception? inner = null) : Exception(message, inner);
