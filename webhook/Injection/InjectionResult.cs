using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using SidecarInjector.SidecarConfig.Schema;

namespace SidecarInjector.Webhook.Injection;

/// <summary>What the engine decided for one pod: the JSON Patch, warnings, and why.</summary>
public sealed class InjectionResult
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? patchBuffer;

    [ThreadStatic]
    private static Utf8JsonWriter? patchWriter;

    private readonly JsonElement originalPod;
    private readonly JsonObject? originalNode;
    private JsonObject? pod;

    /// <param name="originalNode">The pod as a node when the caller has one, else it is read from <paramref name="originalPod"/> when <see cref="Pod"/> is.</param>
    internal InjectionResult(JsonElement originalPod, JsonObject? originalNode, IReadOnlyList<PatchOperation> patch, IReadOnlyList<string> warnings, IReadOnlyList<string> appliedPolicies, IReadOnlyList<PolicyDecision> decisions)
    {
        this.originalPod = originalPod;
        this.originalNode = originalNode;
        Patch = patch;
        Warnings = warnings;
        AppliedPolicies = appliedPolicies;
        Decisions = decisions;
    }

    /// <summary>RFC 6902 operations; empty when nothing changes.</summary>
    public IReadOnlyList<PatchOperation> Patch { get; }

    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Policies injected by this call, in injection order.</summary>
    public IReadOnlyList<string> AppliedPolicies { get; }

    /// <summary>One decision per policy considered.</summary>
    public IReadOnlyList<PolicyDecision> Decisions { get; }

    public bool Changed => Patch.Count > 0;

    /// <summary>
    /// Empty, or why the engine left the pod alone: what the injected pod would have failed of
    /// the API server's validation (the last guard; the validator should have refused the policy).
    /// </summary>
    public IReadOnlyList<ValidationProblem> RefusedProblems { get; init; } = [];

    /// <summary>
    /// The pod with the patch applied (computed on first use; the input pod is not changed). For a
    /// result of <see cref="InjectionEngine.Inject(JsonElement, InjectionContext, IReadOnlyList{CompiledPolicy})"/>,
    /// read it while the element's document is alive.
    /// </summary>
    public JsonObject Pod => pod ??= Changed ? PatchApplier.Apply(OriginalNode(), Patch) : (JsonObject)OriginalNode().DeepClone();

    private JsonObject OriginalNode() => originalNode ?? JsonNode.Parse(originalPod.GetRawText())!.AsObject();

    /// <summary>The patch as RFC 6902 JSON, UTF-8.</summary>
    public byte[] PatchJsonUtf8()
    {
        var bytes = WritePatch(Patch).ToArray();
        ReleaseIfHuge();
        return bytes;
    }

    /// <summary>
    /// <paramref name="patch"/> as RFC 6902 JSON in this thread's buffer: valid until the thread
    /// writes a patch again, for an answer that uses it at once (no copy of its own).
    /// </summary>
    internal static ReadOnlySpan<byte> WritePatch(IReadOnlyList<PatchOperation> patch)
    {
        var size = 2;
        for (var i = 0; i < patch.Count; i++)
        {
            var op = patch[i];
            size += 48 + op.Path.Length + (op.IsRaw ? op.Raw.Length + 2 : 256);
        }

        // One reusable buffer and writer per thread: the only allocation left is the patch itself.
        var buffer = patchBuffer ??= new ArrayBufferWriter<byte>(size);
        buffer.ResetWrittenCount();
        var writer = patchWriter ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        writer.Reset(buffer);
        {
            writer.WriteStartArray();
            for (var i = 0; i < patch.Count; i++)
            {
                var op = patch[i];
                writer.WriteStartObject();
                writer.WriteString("op", op.Op);
                writer.WriteString("path", op.Path);
                writer.WritePropertyName("value");
                if (op.IsRaw)
                {
                    if (op.WrapInArray)
                    {
                        writer.WriteStartArray();
                    }

                    writer.WriteRawValue(op.Raw.Span, skipInputValidation: true);
                    if (op.WrapInArray)
                    {
                        writer.WriteEndArray();
                    }
                }
                else if (op.Value is null)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    op.Value.WriteTo(writer);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.Flush();
        }

        return buffer.WrittenSpan;
    }

    /// <summary>Do not keep a huge buffer alive on the thread after an unusually large patch.</summary>
    internal static void ReleaseIfHuge()
    {
        if (patchBuffer?.Capacity > 1 << 20)
        {
            patchBuffer = null;
            patchWriter = null;
        }
    }
}
