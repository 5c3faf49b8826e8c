using System.Text.RegularExpressions;

namespace SidecarInjector.Tests.Shared;

/// <summary>
/// The command lines README.md and docs/ show for a verb of one of the executables (in code spans and
/// code blocks), checked against that verb's System.CommandLine definition, so the docs cannot name a
/// flag the program does not take.
/// </summary>
public static partial class DocumentedCommandLines
{
    /// <summary>
    /// "page:line: problem" for every option written after <paramref name="verb"/> (run as
    /// <c>dotnet run --project PROJECT -- VERB</c> or <c>EXECUTABLE VERB</c>) that is not one of
    /// <paramref name="options"/>, and how many command lines were found.
    /// </summary>
    public static (List<string> Problems, int Uses) Check(string verb, IEnumerable<string> options, string executable, string project)
    {
        var known = options.Append("--help").Append("-h").ToHashSet(StringComparer.Ordinal);
        var use = new Regex($@"(?:--project {Regex.Escape(project)}\b[^#`]*?\s--\s+|\b{Regex.Escape(executable)}\s+){Regex.Escape(verb)}\b([^#`]*)");
        var problems = new List<string>();
        var uses = 0;
        foreach (var page in Pages())
        {
            foreach (var (line, code) in Code(page))
            {
                foreach (Match found in use.Matches(code))
                {
                    uses++;
                    foreach (Match option in Option().Matches(found.Groups[1].Value))
                    {
                        if (!known.Contains(option.Value))
                        {
                            problems.Add($"{page}:{line}: `{verb} {option.Value}`: {executable} {verb} has no option {option.Value}");
                        }
                    }
                }
            }
        }

        return (problems, uses);
    }

    private static IEnumerable<string> Pages() =>
        new[] { "README.md" }.Concat(
            Directory.EnumerateFiles(RepoPaths.Of("docs"), "*.md", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(RepoPaths.Root, f).Replace('\\', '/'))
                .Order(StringComparer.Ordinal));

    /// <summary>Code spans and code-block lines (a line ending in a backslash continues), with their line numbers.</summary>
    private static IEnumerable<(int Line, string Code)> Code(string page)
    {
        var lines = File.ReadAllLines(RepoPaths.Of(page));
        var inFence = false;
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inFence = !inFence;
                continue;
            }

            if (inFence)
            {
                var start = i;
                var code = lines[i];
                while (code.EndsWith('\\') && i + 1 < lines.Length)
                {
                    code = code[..^1] + " " + lines[++i];
                }

                yield return (start + 1, code);
            }
            else
            {
                foreach (Match span in InlineCode().Matches(lines[i]))
                {
                    yield return (i + 1, span.Groups[1].Value);
                }
            }
        }
    }

    [GeneratedRegex(@"(?<=^|[\s\[])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?=$|[\s\]=])")]
    private static partial Regex Option();

    [GeneratedRegex(@"`([^`]+)`")]
    private static partial Regex InlineCode();
}
