namespace SidecarInjector.SidecarConfig.Schema;

/// <summary>Why the config types may carry <c>[MinLength]</c> in a trimmed program.</summary>
internal static class MinLengthIsData
{
    /// <summary>
    /// MinLengthAttribute needs reflection only in its own IsValid (to find a Count property);
    /// <see cref="SchemaWalker"/> and the CRD generator read its Length and count strings and
    /// collections themselves.
    /// </summary>
    public const string Justification = "Only MinLengthAttribute.Length is read (SchemaWalker, the CRD generator); its IsValid, which needs reflection, is never called.";
}
