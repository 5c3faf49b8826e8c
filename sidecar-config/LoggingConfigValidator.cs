using System.Text.RegularExpressions;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.SidecarConfig;

/// <summary>
/// The rules of a log shipper config that the schema's attributes cannot say (a URL required by
/// the sink type, its scheme, a valid start pattern). The CRD holds a policy's <c>logging</c>
/// section to them, and the shipper its SIDECAR_CONFIG.
/// </summary>
public static class LoggingConfigValidator
{
    public static void Validate(LoggingConfig logging, string at, ICollection<ValidationProblem> problems)
    {
        if (logging.Sink.Type != LogSinkType.Stdout && string.IsNullOrEmpty(logging.Sink.Url))
        {
            problems.Add(new ValidationProblem($"{at}.sink.url", $"required for sink type {EnumNames.Of(logging.Sink.Type)}"));
        }
        else if (logging.Sink.Url is { Length: > 0 } url)
        {
            var expected = logging.Sink.Type == LogSinkType.Syslog ? new[] { "tcp" } : ["http", "https"];
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !expected.Contains(uri.Scheme))
            {
                problems.Add(new ValidationProblem($"{at}.sink.url", $"'{url}' must be an absolute {string.Join(" or ", expected)}:// URL"));
            }
        }

        if (logging.Multiline?.StartPattern is { Length: > 0 } pattern)
        {
            try
            {
                _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                problems.Add(new ValidationProblem($"{at}.multiline.startPattern", $"not a valid regular expression: {e.Message}"));
            }
        }
    }
}
