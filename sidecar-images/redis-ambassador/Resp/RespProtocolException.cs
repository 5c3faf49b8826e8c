namespace SidecarInjector.RedisAmbassador.Resp;

/// <summary>Bytes that are not RESP; the connection they came from cannot be trusted any further.</summary>
public sealed class RespProtocolException(string message) : Exception(message);
