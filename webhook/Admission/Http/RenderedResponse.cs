using System.Buffers;
using System.Text.Json;

namespace SidecarInjector.Webhook.Admission;

/// <summary>A serialized AdmissionReview response without its uid: <c>Prefix + JSON-escaped uid + Suffix</c>.</summary>
public sealed class RenderedResponse(byte[] prefix, byte[] suffix)
{
    public byte[] Prefix { get; } = prefix;

    public byte[] Suffix { get; } = suffix;

    /// <summary>The uid as it goes between the quotes (escaped the way Utf8JsonWriter escapes it).</summary>
    public static ReadOnlySpan<byte> EncodeUid(string uid) => JsonEncodedText.Encode(uid).EncodedUtf8Bytes;

    public int LengthWith(ReadOnlySpan<byte> encodedUid) => Prefix.Length + encodedUid.Length + Suffix.Length;

    public void WriteTo(IBufferWriter<byte> output, string uid) => WriteTo(output, EncodeUid(uid));

    public void WriteTo(IBufferWriter<byte> output, ReadOnlySpan<byte> encodedUid)
    {
        output.Write(Prefix);
        output.Write(encodedUid);
        output.Write(Suffix);
    }
}
