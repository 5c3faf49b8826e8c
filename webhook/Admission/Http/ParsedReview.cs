using System.Text.Json;

namespace SidecarInjector.Webhook.Admission;

/// <summary>
/// A review body parsed into a <see cref="JsonDocument"/>, which keeps its token table in an array
/// from ArrayPool.Shared and grows it there by doubling. For a body over
/// <see cref="RequestBody.MaxPooledBytes"/> those arrays would stay in the pool after the review (see
/// there), so a big body is parsed on a thread of its own, whose thread-local pool slots die with it,
/// and its document is left to the GC instead of returning its table to the pool.
/// </summary>
public readonly struct ParsedReview : IDisposable
{
    private readonly bool pooled;

    private ParsedReview(JsonDocument document, bool pooled)
    {
        Document = document;
        this.pooled = pooled;
    }

    public JsonDocument Document { get; }

    /// <exception cref="JsonException">The body is not JSON (or nested deeper than the options allow).</exception>
    public static ValueTask<ParsedReview> ParseAsync(ReadOnlyMemory<byte> body, JsonDocumentOptions options)
    {
        if (body.Length <= RequestBody.MaxPooledBytes)
        {
            return ValueTask.FromResult(new ParsedReview(JsonDocument.Parse(body, options), pooled: true));
        }

        var parsed = new TaskCompletionSource<ParsedReview>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                parsed.SetResult(new ParsedReview(JsonDocument.Parse(body, options), pooled: false));
            }
            catch (Exception e)
            {
                parsed.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "Parse big AdmissionReview",
        };
        thread.Start();
        return new ValueTask<ParsedReview>(parsed.Task);
    }

    public void Dispose()
    {
        if (pooled)
        {
            Document?.Dispose();
        }
    }
}
