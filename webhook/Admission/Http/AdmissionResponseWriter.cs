using System.Buffers;
using System.Text.Json;

namespace SidecarInjector.Webhook.Admission;

/// <summary>Writes an admission.k8s.io/v1 AdmissionReview response straight to a buffer, no object model.</summary>
public static class AdmissionResponseWriter
{
    public static void Write(IBufferWriter<byte> output, AdmissionResponse response) => Render(response).WriteTo(output, response.Uid);

    /// <summary>
    /// The response as bytes around its uid: the same answer serves every replica of a template
    /// (see <see cref="MutationCache"/>), so the JSON and the base64 patch are written once and
    /// each review only splices in its own uid.
    /// </summary>
    public static RenderedResponse Render(AdmissionResponse response)
    {
        var buffer = new ArrayBufferWriter<byte>(512 + (response.Patch?.Length * 4 / 3 ?? 0));
        int uidAt;
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("apiVersion", AdmissionReviewParser.ApiVersion);
            writer.WriteString("kind", AdmissionReviewParser.Kind);
            writer.WriteStartObject("response");
            writer.WritePropertyName("uid");
            writer.Flush();
            uidAt = buffer.WrittenCount;
            writer.WriteStringValue(string.Empty);
            WriteBody(writer, response);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        // The empty uid was written as "": the prefix keeps its opening quote, the suffix starts at its closing one.
        var written = buffer.WrittenSpan;
        return new RenderedResponse(written[..(uidAt + 1)].ToArray(), written[(uidAt + 1)..].ToArray());
    }

    private static void WriteBody(Utf8JsonWriter writer, AdmissionResponse response)
    {
        writer.WriteBoolean("allowed", response.Allowed);
        if (response.Patch is { } patch)
        {
            writer.WriteString("patchType", "JSONPatch");
            writer.WriteBase64String("patch", patch);
        }

        if (!response.Allowed)
        {
            writer.WriteStartObject("status");
            writer.WriteString("status", "Failure");
            writer.WriteNumber("code", 403);
            writer.WriteString("reason", "Forbidden");
            writer.WriteString("message", response.Message);
            writer.WriteEndObject();
        }

        if (response.Warnings.Count > 0)
        {
            writer.WriteStartArray("warnings");
            foreach (var warning in response.Warnings)
            {
                writer.WriteStringValue(warning);
            }

            writer.WriteEndArray();
        }

        if (response.AuditAnnotations.Count > 0)
        {
            writer.WriteStartObject("auditAnnotations");
            foreach (var (key, value) in response.AuditAnnotations)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
        }
    }
}
