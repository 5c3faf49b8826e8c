using SidecarInjector.Operator.Queue;

namespace SidecarInjector.Operator.Hosting;

/// <summary>
/// The work queue of each controller. Informer events and reconcilers that wake another
/// controller add keys here, so neither needs the controllers themselves.
/// </summary>
public sealed class ControllerQueues : IDisposable
{
    public WorkQueue Policies { get; } = new();

    public WorkQueue WebhookConfiguration { get; } = new();

    public WorkQueue Certificates { get; } = new();

    public WorkQueue Rollouts { get; } = new();

    public void Dispose()
    {
        Policies.Dispose();
        WebhookConfiguration.Dispose();
        Certificates.Dispose();
        Rollouts.Dispose();
    }
}
