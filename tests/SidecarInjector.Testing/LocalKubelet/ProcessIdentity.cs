using System.Globalization;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>Who the container's processes run as: user, group, supplementary groups, and what the securityContext takes away.</summary>
internal sealed record ProcessIdentity(long User, long Group, IReadOnlyList<long> SupplementalGroups, bool NoNewPrivileges, bool DropAllCapabilities)
{
    /// <summary>setpriv's arguments, up to and including its "--".</summary>
    public IEnumerable<string> SetprivArguments()
    {
        yield return "/usr/bin/setpriv";
        yield return $"--reuid={User.ToString(CultureInfo.InvariantCulture)}";
        yield return $"--regid={Group.ToString(CultureInfo.InvariantCulture)}";
        yield return SupplementalGroups.Count == 0 ? "--clear-groups" : "--groups=" + string.Join(',', SupplementalGroups);
        if (NoNewPrivileges)
        {
            yield return "--no-new-privs";
        }

        if (DropAllCapabilities)
        {
            yield return "--inh-caps=-all";
            yield return "--bounding-set=-all";
        }

        yield return "--";
    }
}
