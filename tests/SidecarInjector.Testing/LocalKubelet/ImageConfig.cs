namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>What an image contributes to a container: its entry point, default arguments, environment, working directory, user, and the host directories that stand for its files.</summary>
public sealed record ImageConfig(
    string Image,
    IReadOnlyList<string> Entrypoint,
    IReadOnlyList<string> Cmd,
    IReadOnlyDictionary<string, string> Env,
    string WorkingDir,
    long User,
    long Group,
    IReadOnlyList<ImageBind> Binds);
