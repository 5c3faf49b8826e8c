using System.Buffers;
using System.Text.Json;

namespace SidecarInjector.Webhook.Admission;

/// <summary>Writes an admission.k8s.io/v1 AdmissionReview response straight to a buffer, no object model.</summary>
public static class AdmissionResponseWriter
{
    public static void Write(IBufferWriter<byte> output, AdmissionResponse response)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("apiVersion", AdmissionReviewParser.ApiVersion);
        writer.WriteString("kind", AdmissionReviewParser.Kind);
        writer.WriteStartObject("response");
        writer.WriteString("uid", response.Uid);
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

        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
