using System.Net;
using SidecarInjector.PrometheusAdapter.Hosting;

namespace SidecarInjector.PrometheusAdapter.Tests.Hosting;

public sealed class ListenAddressTests
{
    [Theory]
    [InlineData("0.0.0.0:9102", "0.0.0.0:9102")]
    [InlineData("127.0.0.1:80", "127.0.0.1:80")]
    [InlineData("[::]:9102", "[::]:9102")]
    [InlineData(":9102", "*:9102")]
    [InlineData("*:9102", "*:9102")]
    [InlineData("localhost:9102", "localhost:9102")]
    public void Parses_host_and_port(string text, string expected) => Assert.Equal(expected, ListenAddress.Parse(text).ToString());

    [Fact]
    public void Keeps_the_ip_address()
    {
        Assert.Equal(IPAddress.IPv6Any, ListenAddress.Parse("[::]:1").Address);
        Assert.Equal(IPAddress.Parse("10.1.2.3"), ListenAddress.Parse("10.1.2.3:1").Address);
    }

    [Theory]
    [InlineData("9102")]
    [InlineData("0.0.0.0:70000")]
    [InlineData("0.0.0.0:http")]
    [InlineData("my-host:9102")]
    public void Rejects_what_kestrel_cannot_bind_directly(string text) => Assert.Throws<FormatException>(() => ListenAddress.Parse(text));
}
