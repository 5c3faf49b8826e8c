namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>
/// Resolves a path inside the container's root the way the root itself would (an absolute symlink
/// such as Debian's /var/run -> /run points into the root, not the host), so a mount or mkdir on
/// <c>$ROOT/var/run/secrets</c> can never land on the host's /run. The root's lower layer is the
/// host's /, so the host's symlinks are the root's.
/// </summary>
internal static class RootPath
{
    public static string Resolve(string path)
    {
        var pending = new Queue<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries));
        var resolved = new List<string>();
        var hops = 0;
        while (pending.Count > 0)
        {
            var part = pending.Dequeue();
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }

                continue;
            }

            var candidate = "/" + string.Join('/', resolved.Append(part));
            var target = new FileInfo(candidate).LinkTarget;
            if (target is null)
            {
                resolved.Add(part);
                continue;
            }

            if (++hops > 40)
            {
                throw new ContainerConfigException($"too many levels of symbolic links in {path}");
            }

            // The link's target, then what followed it.
            var rest = pending.ToList();
            pending.Clear();
            if (target.StartsWith('/'))
            {
                resolved.Clear();
            }

            foreach (var next in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Concat(rest))
            {
                pending.Enqueue(next);
            }
        }

        return "/" + string.Join('/', resolved);
    }
}
