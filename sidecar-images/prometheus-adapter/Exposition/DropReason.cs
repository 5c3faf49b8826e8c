namespace SidecarInjector.PrometheusAdapter.Exposition;

/// <summary>Why a series was left out of the output instead of failing the scrape.</summary>
internal enum DropReason
{
    /// <summary>Same family and label values as a series already present.</summary>
    Duplicate,

    /// <summary>The family name is taken by another family of a different type or by the adapter's own metrics.</summary>
    NameConflict,

    /// <summary>The selected JSON value is null, an object, an array, or a string without a number or valueMap entry.</summary>
    NotANumber,
}
