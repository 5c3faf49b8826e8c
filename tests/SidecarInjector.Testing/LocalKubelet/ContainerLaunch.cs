namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>Everything the runtime needs to start one container instance.</summary>
internal sealed record ContainerLaunch(
    string NetworkNamespace,
    string InstanceDirectory,
    string Hostname,
    string PodIp,
    IReadOnlyList<ContainerMount> Mounts,
    bool ReadOnlyRootFilesystem,
    ProcessIdentity Identity,
    string WorkingDir,
    IReadOnlyList<string> Argv,
    IReadOnlyDictionary<string, string> Env,
    IReadOnlyList<string> ExtraHosts);
