using System.Security.Cryptography.X509Certificates;
using System.Text;
using SidecarInjector.Operator.Certificates;

namespace SidecarInjector.Operator.Tests.Certificates;

public sealed class CertificateAuthorityTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] Names = ["hook", "hook.ns", "hook.ns.svc"];

    [Fact]
    public void A_CA_can_sign_certificates_and_nothing_else()
    {
        using var ca = CertificateAuthority.CreateCa(Now, TimeSpan.FromDays(30));
        var constraints = ca.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(constraints.CertificateAuthority);
        Assert.True(constraints.HasPathLengthConstraint);
        Assert.Equal(0, constraints.PathLengthConstraint);
        Assert.Equal(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, ca.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        Assert.Equal(Now.AddDays(30), new DateTimeOffset(ca.NotAfter.ToUniversalTime()));
        Assert.True(ca.HasPrivateKey);
    }

    [Fact]
    public void A_serving_certificate_names_every_DNS_name_serves_TLS_only_and_chains_to_its_CA()
    {
        using var ca = CertificateAuthority.CreateCa(Now, TimeSpan.FromDays(30));
        using var leaf = CertificateAuthority.IssueServing(ca, Names, Now, TimeSpan.FromDays(3));
        Assert.Equal("CN=hook", leaf.Subject);
        Assert.Equal(Names, leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames());
        var usages = leaf.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value);
        Assert.Equal(["1.3.6.1.5.5.7.3.1"], usages);
        Assert.False(leaf.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.True(leaf.HasPrivateKey);
        Assert.True(CertificateAuthority.IsIssuedBy(leaf, ca));
        using var other = CertificateAuthority.CreateCa(Now, TimeSpan.FromDays(30));
        Assert.False(CertificateAuthority.IsIssuedBy(leaf, other));
    }

    [Fact]
    public void A_serving_certificate_never_outlives_its_CA()
    {
        using var ca = CertificateAuthority.CreateCa(Now, TimeSpan.FromDays(30));
        using var leaf = CertificateAuthority.IssueServing(ca, Names, Now.AddDays(29), TimeSpan.FromDays(3));
        Assert.Equal(ca.NotAfter, leaf.NotAfter);
    }

    [Fact]
    public void Renewal_is_due_at_two_thirds_of_the_lifetime()
    {
        using var ca = CertificateAuthority.CreateCa(Now, TimeSpan.FromDays(30));
        var life = new DateTimeOffset(ca.NotAfter.ToUniversalTime()) - new DateTimeOffset(ca.NotBefore.ToUniversalTime());
        Assert.Equal(new DateTimeOffset(ca.NotBefore.ToUniversalTime()) + (life * 2 / 3), CertificateAuthority.RenewAt(ca));
        Assert.True(CertificateAuthority.RenewAt(ca) > Now.AddDays(19) && CertificateAuthority.RenewAt(ca) < Now.AddDays(21));
    }

    [Fact]
    public void Validity_is_checked_against_the_given_time_with_the_end_excluded()
    {
        using var ca = CertificateAuthority.CreateCa(Now, TimeSpan.FromDays(30));
        Assert.True(CertificateAuthority.IsValidAt(ca, Now));
        Assert.False(CertificateAuthority.IsValidAt(ca, Now.AddMinutes(-6)));
        Assert.False(CertificateAuthority.IsValidAt(ca, Now.AddDays(30)));
        Assert.True(CertificateAuthority.IsValidAt(ca, Now.AddDays(30).AddTicks(-TimeSpan.TicksPerSecond)));
    }

    [Fact]
    public void PEM_round_trips_and_bad_PEM_reads_as_missing()
    {
        using var ca = CertificateAuthority.CreateCa(Now, TimeSpan.FromDays(30));
        var cert = Encoding.ASCII.GetBytes(CertificateAuthority.CertificatePem(ca));
        var key = Encoding.ASCII.GetBytes(CertificateAuthority.KeyPem(ca));
        using var loaded = CertificateAuthority.TryLoad(cert, key);
        Assert.NotNull(loaded);
        Assert.Equal(ca.Thumbprint, loaded.Thumbprint);
        Assert.True(loaded.HasPrivateKey);

        Assert.Null(CertificateAuthority.TryLoad(null, key));
        Assert.Null(CertificateAuthority.TryLoad(cert, null));
        Assert.Null(CertificateAuthority.TryLoad(Encoding.ASCII.GetBytes("not a certificate"), key));
        using var other = CertificateAuthority.CreateCa(Now, TimeSpan.FromDays(30));
        Assert.Null(CertificateAuthority.TryLoad(cert, Encoding.ASCII.GetBytes(CertificateAuthority.KeyPem(other))));
    }

    [Fact]
    public void A_bundle_reads_every_certificate_in_order_and_garbage_reads_as_empty()
    {
        using var a = CertificateAuthority.CreateCa(Now, TimeSpan.FromDays(30));
        using var b = CertificateAuthority.CreateCa(Now.AddDays(1), TimeSpan.FromDays(30));
        var bundle = CertificateAuthority.LoadBundle(Encoding.ASCII.GetBytes(CertificateAuthority.CertificatePem(a) + CertificateAuthority.CertificatePem(b)));
        Assert.Equal([a.Thumbprint, b.Thumbprint], bundle.Select(c => c.Thumbprint));
        Assert.Empty(CertificateAuthority.LoadBundle(null));
        Assert.Empty(CertificateAuthority.LoadBundle(Encoding.ASCII.GetBytes("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")));
    }

    [Fact]
    public void A_serving_certificate_lasts_the_asked_validity_when_its_CA_outlives_it()
    {
        using var ca = CertificateAuthority.CreateCa(Now, TimeSpan.FromDays(30));
        using var leaf = CertificateAuthority.IssueServing(ca, Names, Now.AddDays(1), TimeSpan.FromDays(3));
        Assert.Equal(Now.AddDays(4), new DateTimeOffset(leaf.NotAfter.ToUniversalTime()));
        Assert.True(CertificateAuthority.IsValidAt(leaf, Now.AddDays(1)));
        Assert.InRange(CertificateAuthority.RenewAt(leaf), Now.AddDays(2.9), Now.AddDays(3));
    }

    [Fact]
    public void A_serving_certificate_read_back_from_PEM_keeps_its_key_and_names_and_chains_to_the_CA_bundle()
    {
        using var ca = CertificateAuthority.CreateCa(Now, TimeSpan.FromDays(30));
        using var leaf = CertificateAuthority.IssueServing(ca, Names, Now, TimeSpan.FromDays(3));
        var cert = Encoding.ASCII.GetBytes(CertificateAuthority.CertificatePem(leaf));
        using var loaded = CertificateAuthority.TryLoad(cert, Encoding.ASCII.GetBytes(CertificateAuthority.KeyPem(leaf)));
        var bundle = CertificateAuthority.LoadBundle(Encoding.ASCII.GetBytes(CertificateAuthority.CertificatePem(ca)));

        Assert.NotNull(loaded);
        Assert.True(loaded.HasPrivateKey);
        Assert.Equal(Names, loaded.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames());
        Assert.True(CertificateAuthority.IsIssuedBy(loaded, Assert.Single(bundle)));
        Assert.Null(CertificateAuthority.TryLoad(cert, Encoding.ASCII.GetBytes(CertificateAuthority.KeyPem(ca))));
    }

    [Fact]
    public void A_key_PEM_needs_a_private_key()
    {
        using var ca = CertificateAuthority.CreateCa(Now, TimeSpan.FromDays(30));
        using var publicOnly = X509CertificateLoader.LoadCertificate(ca.RawData);
        Assert.Throws<InvalidOperationException>(() => CertificateAuthority.KeyPem(publicOnly));
    }
}
