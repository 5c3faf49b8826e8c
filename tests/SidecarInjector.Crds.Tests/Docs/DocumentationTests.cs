using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.Crds.Tests.Docs;

/// <summary>
/// The README and docs/ point at things that exist: every relative link at a file (and a heading
/// of it, for a #fragment), every <c>make</c> target at a Makefile target, every
/// <c>dotnet run --project</c> at a project, every repository path in code at a file or folder
/// (a type's path may leave out <c>.cs</c>), and every page of docs/ is in its index. A renamed
/// file or heading breaks a newcomer's walk silently otherwise. <c>make docs-check</c> runs only these.
/// </summary>
public sealed partial class DocumentationTests
{
    private static readonly string DocsDirectory = RepoPaths.Of("docs");

    public static TheoryData<string> Pages()
    {
        var pages = new TheoryData<string>("README.md");
        foreach (var file in Directory.EnumerateFiles(DocsDirectory, "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            pages.Add(Path.GetRelativePath(RepoPaths.Root, file).Replace('\\', '/'));
        }

        return pages;
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void Every_relative_link_points_at_an_existing_file_and_heading(string page)
    {
        var problems = new List<string>();
        foreach (var (line, target) in Links(page))
        {
            if (UriScheme().IsMatch(target))
            {
                continue;
            }

            var hash = target.IndexOf('#', StringComparison.Ordinal);
            var path = hash < 0 ? target : target[..hash];
            var fragment = hash < 0 ? null : Uri.UnescapeDataString(target[(hash + 1)..]);
            var file = path.Length == 0
                ? RepoPaths.Of(page)
                : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(RepoPaths.Of(page))!, Uri.UnescapeDataString(path)));
            if (!File.Exists(file) && !Directory.Exists(file))
            {
                problems.Add($"{page}:{line}: '{target}' points at {Path.GetRelativePath(RepoPaths.Root, file)}, which does not exist");
            }
            else if (fragment is not null && file.EndsWith(".md", StringComparison.Ordinal) && !Anchors(file).Contains(fragment))
            {
                problems.Add($"{page}:{line}: '{target}': {Path.GetRelativePath(RepoPaths.Root, file)} has no heading with the anchor '#{fragment}'");
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void Every_make_target_and_dotnet_project_it_names_exists(string page)
    {
        var makefile = File.ReadAllText(RepoPaths.Of("Makefile"));
        var targets = MakeTargetDefinition().Matches(makefile)
            .SelectMany(m => m.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToHashSet(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var (line, code) in CodeSpans(page))
        {
            foreach (Match use in MakeUse().Matches(code))
            {
                foreach (var target in use.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (!targets.Contains(target))
                    {
                        problems.Add($"{page}:{line}: `make {target}` is not a target of the Makefile");
                    }
                }
            }

            foreach (Match use in DotnetProject().Matches(code))
            {
                if (!Directory.Exists(RepoPaths.Of(use.Groups[1].Value)) && !File.Exists(RepoPaths.Of(use.Groups[1].Value)))
                {
                    problems.Add($"{page}:{line}: `--project {use.Groups[1].Value}` is not a project of the repository");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void Every_repository_path_it_names_exists(string page)
    {
        var tops = Directory.EnumerateDirectories(RepoPaths.Root)
            .Select(Path.GetFileName)
            .Where(d => d is not null && (!d.StartsWith('.') || d == ".ci") && d is not "bin" and not "obj" and not "TestResults" and not "dist")
            .Select(d => Regex.Escape(d!));
        var path = new Regex($@"(?<![\w./-])(?:{string.Join('|', tops)})/[^\s`'"",;:()\]]*");
        var problems = new List<string>();
        foreach (var (line, code) in CodeSpans(page))
        {
            foreach (Match found in path.Matches(code))
            {
                var named = found.Value.TrimEnd('.', '/');
                if (named.IndexOfAny(['*', '<', '{', '$', '|']) >= 0 || named.Contains("...", StringComparison.Ordinal))
                {
                    continue; // a pattern or a placeholder, not one path
                }

                var full = RepoPaths.Of(named);
                if (!File.Exists(full) && !Directory.Exists(full) && !File.Exists(full + ".cs"))
                {
                    problems.Add($"{page}:{line}: `{named}` is not a file or directory of the repository");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void The_docs_index_links_every_page_of_docs()
    {
        var linked = Links("docs/README.md")
            .Select(l => l.Target.Split('#')[0])
            .Where(t => t.Length > 0 && !UriScheme().IsMatch(t))
            .Select(t => Path.GetFullPath(Path.Combine(DocsDirectory, t)))
            .ToHashSet(StringComparer.Ordinal);
        var missing = Directory.EnumerateFiles(DocsDirectory, "*.md", SearchOption.AllDirectories)
            .Where(f => !string.Equals(Path.GetFileName(f), "README.md", StringComparison.Ordinal) && !linked.Contains(Path.GetFullPath(f)))
            .Select(f => Path.GetRelativePath(RepoPaths.Root, f))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.True(missing.Count == 0, $"docs/README.md does not link {string.Join(", ", missing)}: add a row for each to its index");
    }

    [Fact]
    public void The_readme_stays_a_front_door()
    {
        var lines = File.ReadAllLines(RepoPaths.Of("README.md")).Length;
        Assert.True(lines <= 250, $"README.md has {lines} lines; keep it at most 250 and put reference material in docs/");
    }

    /// <summary>Markdown links <c>[text](target)</c> outside code, with their line numbers.</summary>
    private static IEnumerable<(int Line, string Target)> Links(string page) =>
        ProseLines(page).SelectMany(l => Link().Matches(l.Text).Select(m => (l.Line, m.Groups[1].Value)));

    /// <summary>Inline code spans and fenced code lines, where commands are written.</summary>
    private static IEnumerable<(int Line, string Code)> CodeSpans(string page)
    {
        var inFence = false;
        var number = 0;
        foreach (var line in File.ReadLines(RepoPaths.Of(page)))
        {
            number++;
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inFence = !inFence;
                continue;
            }

            if (inFence)
            {
                yield return (number, line);
            }
            else
            {
                foreach (Match span in InlineCode().Matches(line))
                {
                    yield return (number, span.Groups[1].Value);
                }
            }
        }
    }

    /// <summary>Lines outside fenced code, with inline code removed (links) or kept as text (headings).</summary>
    private static IEnumerable<(int Line, string Text)> ProseLines(string page, bool keepInlineCode = false)
    {
        var inFence = false;
        var number = 0;
        foreach (var line in File.ReadLines(RepoPaths.Of(page)))
        {
            number++;
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inFence = !inFence;
            }
            else if (!inFence)
            {
                yield return (number, keepInlineCode ? line : InlineCode().Replace(line, ""));
            }
        }
    }

    /// <summary>The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces as '-', repeats numbered.</summary>
    private static HashSet<string> Anchors(string file)
    {
        var page = Path.GetRelativePath(RepoPaths.Root, file);
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (_, text) in ProseLines(page, keepInlineCode: true))
        {
            var heading = Heading().Match(text);
            if (!heading.Success)
            {
                continue;
            }

            var slug = new StringBuilder();
            foreach (var c in heading.Groups[1].Value.Trim().ToLowerInvariant())
            {
                var category = char.GetUnicodeCategory(c);
                if (c == ' ')
                {
                    slug.Append('-');
                }
                else if (c is '-' or '_' || char.IsLetterOrDigit(c) || category == UnicodeCategory.NonSpacingMark)
                {
                    slug.Append(c);
                }
            }

            var anchor = slug.ToString();
            for (var n = 1; !anchors.Add(anchor); n++)
            {
                anchor = $"{slug}-{n}";
            }
        }

        return anchors;
    }

    [GeneratedRegex(@"\]\(([^)\s]+)\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"`([^`]+)`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"^#{1,6}\s+(.+)$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9+.-]*:")]
    private static partial Regex UriScheme();

    [GeneratedRegex(@"^([a-zA-Z0-9_ -]+?):(?!=)", RegexOptions.Multiline)]
    private static partial Regex MakeTargetDefinition();

    /// <summary><c>make a b</c> at the start of a command (after a prompt, <c>VAR=x</c> settings or <c>(</c>/<c>;</c>), up to a comment or a shell operator.</summary>
    [GeneratedRegex(@"(?:^|[;(&|]\s*|\$\s+)(?:[A-Z_]+=\S*\s+)*make((?:\s+[a-z][a-z0-9-]*)+)(?:\s+[A-Z_]+=\S*)*\s*(?=$|[#;)&|])")]
    private static partial Regex MakeUse();

    [GeneratedRegex(@"dotnet (?:run|build|test|publish)[^|;#]*?--project\s+([^\s`]+)")]
    private static partial Regex DotnetProject();
}
