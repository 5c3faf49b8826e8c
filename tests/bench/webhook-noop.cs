#:sdk Microsoft.NET.Sdk.Web
// The baseline for bench-webhook.sh: Kestrel over HTTPS with the same certificate, parsing the
// AdmissionReview and echoing its uid, nothing else. Usage: webhook-noop.cs PORT CERT KEY
using System.Buffers;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

var port = int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture);
var certificate = X509Certificate2.CreateFromPemFile(args[1], args[2]);
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k =>
{
    k.AddServerHeader = false;
    k.Listen(IPAddress.Loopback, port, l => l.UseHttps(certificate));
});
var app = builder.Build();
app.MapPost("/mutate", async context =>
{
    using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
    var uid = document.RootElement.GetProperty("request").GetProperty("uid").GetString();
    var buffer = new ArrayBufferWriter<byte>(256);
    using (var writer = new Utf8JsonWriter(buffer))
    {
        writer.WriteStartObject();
        writer.WriteString("apiVersion", "admission.k8s.io/v1");
        writer.WriteString("kind", "AdmissionReview");
        writer.WriteStartObject("response");
        writer.WriteString("uid", uid);
        writer.WriteBoolean("allowed", true);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    context.Response.ContentType = "application/json";
    context.Response.ContentLength = buffer.WrittenCount;
    await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
});
app.MapGet("/healthz", () => "ok");
await app.RunAsync();
