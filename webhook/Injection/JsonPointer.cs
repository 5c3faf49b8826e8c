namespace SidecarInjector.Webhook.Injection;

/// <summary>RFC 6901 reference tokens.</summary>
public static class JsonPointer
{
    /// <summary>Escapes <c>~</c> as <c>~0</c> and <c>/</c> as <c>~1</c>, in that order.</summary>
    public static string Escape(string token) =>
        token.Contains('~', StringComparison.Ordinal) || token.Contains('/', StringComparison.Ordinal)
            ? token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)
            : token;

    public static string Unescape(string token) =>
        token.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
}
