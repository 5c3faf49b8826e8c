namespace SidecarInjector.Crds.Informers;

/// <summary>What readiness and hosts need of any informer, whatever it watches.</summary>
public interface IResourceInformer
{
    string Resource { get; }

    /// <summary>True once the first list has filled the cache.</summary>
    bool HasSynced { get; }

    Task WaitForSyncAsync(CancellationToken cancellationToken);

    Task RunAsync(CancellationToken cancellationToken);
}
