namespace SidecarInjector.Testing.FakeApiServer;

/// <summary>An error the fake server answers with a metav1.Status body, like kube-apiserver.</summary>
public sealed class ApiErrorException(int code, string reason, string message) : Exception(message)
{
    public int Code { get; } = code;

    public string Reason { get; } = reason;
}
