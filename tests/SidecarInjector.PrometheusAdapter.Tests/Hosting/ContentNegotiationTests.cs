using SidecarInjector.PrometheusAdapter.Exposition;
using SidecarInjector.PrometheusAdapter.Hosting;

namespace SidecarInjector.PrometheusAdapter.Tests.Hosting;

public sealed class ContentNegotiationTests
{
    [Theory]
    [InlineData(null, false)]
    [InlineData("*/*", false)]
    [InlineData("text/plain;version=0.0.4", false)]
    [InlineData("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", true)]
    [InlineData("application/openmetrics-text;q=0.3,text/plain;q=0.9", false)]
    [InlineData("application/openmetrics-text;q=0", false)]
    [InlineData("not a media type at all;;;", false)]
    public void Chooses_openmetrics_only_when_preferred_by_quality(string? accept, bool openMetrics) =>
        Assert.Equal(openMetrics ? ExpositionFormat.OpenMetrics : ExpositionFormat.PrometheusText, ContentNegotiation.ChooseFormat(accept is null ? null : [accept]));

    [Theory]
    [InlineData(null, false)]
    [InlineData("gzip", true)]
    [InlineData("deflate, gzip;q=0.5", true)]
    [InlineData("gzip;q=0", false)]
    [InlineData("br", false)]
    [InlineData("*", true)]
    public void Compresses_only_when_gzip_is_acceptable(string? acceptEncoding, bool expected) =>
        Assert.Equal(expected, ContentNegotiation.AcceptsGzip(acceptEncoding is null ? null : [acceptEncoding]));
}
