using System.Net;
using k8s.Autorest;
using k8s.LeaderElection;

namespace SidecarInjector.Operator.Leadership;

/// <summary>
/// KubernetesClient's LeaderElector gives up the Lease on the first exception a renewal throws,
/// and a connection reset or a refused connection throws (only an HTTP error status is retried).
/// This lock turns such transport failures into a failed attempt, which the elector retries every
/// RetryPeriod until RenewDeadline, as client-go does; so a blip of the API server does not cost
/// the Lease, and only one longer than RenewDeadline does.
/// </summary>
public sealed class TransientTolerantLock(ILock inner) : ILock
{
    public string Identity => inner.Identity;

    public async Task<LeaderElectionRecord> GetAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.GetAsync(cancellationToken);
        }
        catch (Exception e) when (IsTransport(e, cancellationToken))
        {
            // The elector treats an error status other than 404 as "try again later".
            using var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
            throw new HttpOperationException(e.Message, e) { Response = new HttpResponseMessageWrapper(response, e.Message) };
        }
    }

    public async Task<bool> CreateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.CreateAsync(record, cancellationToken);
        }
        catch (Exception e) when (IsTransport(e, cancellationToken))
        {
            return false;
        }
    }

    public async Task<bool> UpdateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.UpdateAsync(record, cancellationToken);
        }
        catch (Exception e) when (IsTransport(e, cancellationToken))
        {
            return false;
        }
    }

    public string Describe() => inner.Describe();

    private static bool IsTransport(Exception e, CancellationToken cancellationToken) =>
        e is HttpRequestException or IOException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested);
}
