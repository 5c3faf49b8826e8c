using Microsoft.Extensions.FileSystemGlobbing;

namespace SidecarInjector.LogShipper.Tailing;

/// <summary>The files matching the configured globs (<c>*</c>, <c>?</c>, <c>**</c>), minus the excluded ones.</summary>
internal sealed class GlobSet
{
    private readonly List<(string Root, Matcher Matcher)> includes;
    private readonly List<(string Root, Matcher Matcher)> excludes;
    private readonly Matcher? excludedNames;

    public GlobSet(IEnumerable<string> include, IEnumerable<string>? exclude)
    {
        includes = [.. include.Select(Compile)];
        excludes = [];
        foreach (var pattern in exclude ?? [])
        {
            if (pattern.Contains('/'))
            {
                excludes.Add(Compile(pattern));
            }
            else
            {
                // A bare pattern such as *.gz applies to file names in any directory.
                excludedNames ??= new Matcher(StringComparison.Ordinal);
                excludedNames.AddInclude(pattern);
            }
        }
    }

    public List<string> Expand()
    {
        var files = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (root, matcher) in includes)
        {
            if (!Directory.Exists(root))
            {
                continue;
            }

            foreach (var file in matcher.GetResultsInFullPath(root))
            {
                if (seen.Add(file) && !IsExcluded(file))
                {
                    files.Add(file);
                }
            }
        }

        return files;
    }

    private bool IsExcluded(string file)
    {
        if (excludedNames is not null && excludedNames.Match(Path.GetFileName(file)).HasMatches)
        {
            return true;
        }

        foreach (var (root, matcher) in excludes)
        {
            if (file.StartsWith(root, StringComparison.Ordinal) && matcher.Match(root, file).HasMatches)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Splits /var/log/app/**/*.log into the directory to search (/var/log/app) and the relative pattern.</summary>
    private static (string Root, Matcher Matcher) Compile(string pattern)
    {
        var full = Path.GetFullPath(pattern.Replace("**", "__globstar__", StringComparison.Ordinal)).Replace("__globstar__", "**", StringComparison.Ordinal);
        var segments = full.Split('/');
        var literal = 0;
        while (literal < segments.Length - 1 && segments[literal].IndexOfAny(['*', '?', '[', '{']) < 0)
        {
            literal++;
        }

        var root = "/" + string.Join('/', segments[..literal].Where(s => s.Length > 0));
        var matcher = new Matcher(StringComparison.Ordinal);
        matcher.AddInclude(string.Join('/', segments[literal..]));
        return (root, matcher);
    }
}
