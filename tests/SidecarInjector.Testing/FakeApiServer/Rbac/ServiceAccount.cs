namespace SidecarInjector.Testing.FakeApiServer.Rbac;

/// <summary>A service account a client authenticates as, with a bearer token the fake server knows.</summary>
public sealed record ServiceAccount(string Namespace, string Name)
{
    /// <summary>The operator's account in deploy/default (operator-rbac.yaml, operator.yaml's serviceAccountName).</summary>
    public static ServiceAccount Operator { get; } = new("sidecar-injector", "sidecar-injector-operator");

    /// <summary>The webhook's account in deploy/default (webhook-rbac.yaml, webhook.yaml's serviceAccountName).</summary>
    public static ServiceAccount Webhook { get; } = new("sidecar-injector", "sidecar-injector-webhook");

    /// <summary>The user name kube-apiserver's token authenticator gives the account.</summary>
    public string UserName => $"system:serviceaccount:{Namespace}:{Name}";

    /// <summary>The groups every service account is in.</summary>
    public IReadOnlyList<string> Groups => ["system:serviceaccounts", $"system:serviceaccounts:{Namespace}", "system:authenticated"];

    /// <summary>The bearer token the fake server maps to this account.</summary>
    public string Token => $"fake-sa-token.{Namespace}.{Name}";
}
