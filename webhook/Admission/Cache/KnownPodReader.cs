using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// Reads a review whose pod the <see cref="MutationCache"/> already holds without parsing the pod:
/// every replica of a template arrives as the same pod bytes, and those make up most of a review.
/// Only the review around the pod is parsed, with <c>{}</c> in the pod's place, by the same
/// <see cref="AdmissionReviewParser"/>. Anything unusual (a broken or odd review, a second
/// <c>request.object</c>) returns false, and the full parse decides and reports it.
/// </summary>
public static class KnownPodReader
{
    private static ReadOnlySpan<byte> Placeholder => "{}"u8;

    /// <param name="hint">
    /// Where the pod was in the last review read, tried before reading up to the pod: reviews from one
    /// controller put it at the same offset. Updated when the pod is found elsewhere. Any value is safe,
    /// because the pod is only taken where the parse of the review around it finds request.object.
    /// </param>
    /// <param name="review">The review's fields; <see cref="AdmissionRequest.Object"/> is null, the pod is <paramref name="pod"/>.</param>
    /// <param name="pod">Where the pod's bytes are in <paramref name="body"/>.</param>
    public static bool TryRead(ReadOnlySpan<byte> body, MutationCache cache, JsonDocumentOptions options, ref int hint, out AdmissionRequest review, out Range pod)
    {
        var guess = hint;
        if (guess > 0 && guess < body.Length && TryReadAt(body, guess, cache, options, out review, out pod))
        {
            return true;
        }

        if (TryLocateObject(body, options.MaxDepth, out var start) && start != guess && TryReadAt(body, start, cache, options, out review, out pod))
        {
            hint = start;
            return true;
        }

        (review, pod) = (null!, default);
        return false;
    }

    private static bool TryReadAt(ReadOnlySpan<byte> body, int start, MutationCache cache, JsonDocumentOptions options, out AdmissionRequest review, out Range pod)
    {
        (review, pod) = (null!, default);
        if (!cache.TryMatchPod(body[start..], out var length))
        {
            return false;
        }

        var envelopeLength = body.Length - length + Placeholder.Length;
        if (envelopeLength > RequestBody.MaxPooledBytes)
        {
            // A big review around a small pod is rare: the full parse keeps its buffers out of the pool (see ParsedReview).
            return false;
        }

        var envelope = ArrayPool<byte>.Shared.Rent(envelopeLength);
        try
        {
            body[..start].CopyTo(envelope);
            Placeholder.CopyTo(envelope.AsSpan(start));
            body[(start + length)..].CopyTo(envelope.AsSpan(start + Placeholder.Length));
            using var document = JsonDocument.Parse(envelope.AsMemory(0, envelopeLength), options);
            var parsed = AdmissionReviewParser.Parse(document.RootElement);

            // The parser must have taken the placeholder as request.object: not another "object" later on,
            // nor a pod's bytes found somewhere else in the review.
            if (parsed.Object is not { } placeholder
                || !JsonMarshal.GetRawUtf8Value(placeholder).Overlaps(envelope.AsSpan(start, Placeholder.Length), out var offset) || offset != 0)
            {
                return false;
            }

            (review, pod) = (parsed with { Object = null }, start..(start + length));
            return true;
        }
        catch (Exception e) when (e is JsonException or AdmissionReviewException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(envelope);
        }
    }

    /// <summary>
    /// Where the value of <c>request.object</c> starts in a serialized review, found by reading
    /// only what comes before it. False when the review breaks off, has no such object or the
    /// object is not a JSON object; parsing the whole review then says what is wrong.
    /// </summary>
    private static bool TryLocateObject(ReadOnlySpan<byte> review, int maxDepth, out int start)
    {
        start = 0;
        var reader = new Utf8JsonReader(review, new JsonReaderOptions { MaxDepth = maxDepth });
        var inRequest = false;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName)
                {
                    continue;
                }

                if (reader.CurrentDepth == 1)
                {
                    inRequest = reader.ValueTextEquals("request"u8);
                }
                else if (inRequest && reader.CurrentDepth == 2 && reader.ValueTextEquals("object"u8))
                {
                    // After the name: JSON whitespace and the colon, then the value.
                    start = (int)reader.BytesConsumed;
                    while (start < review.Length && review[start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or (byte)':')
                    {
                        start++;
                    }

                    return start < review.Length && review[start] == (byte)'{';
                }
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }
}
