using System.Buffers;
using System.Text.Json;

namespace SidecarInjector.Webhook.Admission;

/// <summary>Writes an admission.k8s.io/v1 AdmissionReview response straight to a buffer, no object model.</summary>
public static class AdmissionResponseWriter
{
    /// <summary>Where a response is rendered before it is cut into its two parts: one per thread, reused.</summary>
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? scratch;

    [ThreadStatic]
    private static Utf8JsonWriter? scratchWriter;

    /// <summary>Writes the response, with its own uid, to <paramref name="output"/>.</summary>
    public static void Write(IBufferWriter<byte> output, AdmissionResponse response) => output.Write(RenderOnce(response));

    /// <summary>
    /// The response as bytes around its uid: the same answer serves every replica of a template
    /// (see <see cref="MutationCache"/>), so the JSON and the base64 patch are written once and
    /// each review only splices in its own uid.
    /// </summary>
    public static RenderedResponse Render(AdmissionResponse response)
    {
        var written = RenderToScratch(response, null, out var uidAt);

        // The empty uid was written as "": the prefix keeps its opening quote, the suffix starts at its closing one.
        var rendered = new RenderedResponse(written[..(uidAt + 1)].ToArray(), written[(uidAt + 1)..].ToArray());
        ReleaseScratchIfHuge();
        return rendered;
    }

    /// <summary>
    /// The response with its own uid, for an answer written once and not kept: in a buffer of this
    /// thread's, valid until the thread renders again, so it is written out before anything else runs.
    /// </summary>
    public static ReadOnlySpan<byte> RenderOnce(AdmissionResponse response)
    {
        var written = RenderToScratch(response, response.Uid, out _);
        if (scratch!.Capacity > 1 << 20)
        {
            // The answer is unusually large: it gets a copy of its own, and the thread does not keep the buffer.
            var copy = written.ToArray();
            ReleaseScratchIfHuge();
            return copy;
        }

        return written;
    }

    private static ReadOnlySpan<byte> RenderToScratch(AdmissionResponse response, string? uid, out int uidAt)
    {
        var buffer = scratch ??= new ArrayBufferWriter<byte>(16 * 1024);
        buffer.ResetWrittenCount();
        var writer = scratchWriter ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        writer.WriteStartObject();
        writer.WriteString("apiVersion", AdmissionReviewParser.ApiVersion);
        writer.WriteString("kind", AdmissionReviewParser.Kind);
        writer.WriteStartObject("response");
        writer.WritePropertyName("uid");
        writer.Flush();
        uidAt = buffer.WrittenCount;
        writer.WriteStringValue(uid ?? string.Empty);
        WriteBody(writer, response);
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.Flush();
        return buffer.WrittenSpan;
    }

    private static void ReleaseScratchIfHuge()
    {
        if (scratch?.Capacity > 1 << 20)
        {
            // Do not keep a huge buffer alive on the thread after an unusually large answer.
            scratch = null;
            scratchWriter = null;
        }
    }

    private static void WriteBody(Utf8JsonWriter writer, AdmissionResponse response)
    {
        writer.WriteBoolean("allowed", response.Allowed);
        if (response.Patch is { } patch)
        {
            writer.WriteString("patchType", "JSONPatch");
            writer.WriteBase64String("patch", patch);
        }
        else if (response.PatchOperations is { Count: > 0 } operations)
        {
            writer.WriteString("patchType", "JSONPatch");
            writer.WriteBase64String("patch", Injection.InjectionResult.WritePatch(operations));
            Injection.InjectionResult.ReleaseIfHuge();
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
