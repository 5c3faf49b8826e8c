using System.Text.Json;
using SidecarInjector.LogShipper.Tailing;
using SidecarInjector.SidecarConfig;

namespace SidecarInjector.LogShipper.Checkpoints;

/// <summary>
/// Read offsets persisted in <c>stateDir/checkpoints.json</c>. Only the sender writes it, after the
/// sink acknowledged a batch, so a crash (kill -9 included) replays at most the batch in flight.
/// </summary>
internal sealed class CheckpointStore
{
    public const string FileName = "checkpoints.json";

    private readonly string path;
    private readonly string temporaryPath;
    private readonly Dictionary<FileIdentity, FilePosition> positions;
    private readonly Lock gate = new();

    private CheckpointStore(string directory, Dictionary<FileIdentity, FilePosition> positions)
    {
        path = Path.Combine(directory, FileName);
        temporaryPath = path + ".tmp";
        this.positions = positions;
    }

    /// <summary>Opens the store, checking that the directory is writable.</summary>
    /// <exception cref="SidecarConfigException">The directory cannot be created or written, or the file is corrupt.</exception>
    public static CheckpointStore Open(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
            var probe = Path.Combine(directory, $".write-test-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SidecarConfigException($"stateDir: '{directory}' is not a writable directory: {e.Message}");
        }

        var path = Path.Combine(directory, FileName);
        var positions = new Dictionary<FileIdentity, FilePosition>();
        if (File.Exists(path))
        {
            try
            {
                var document = JsonSerializer.Deserialize(File.ReadAllBytes(path), CheckpointJsonContext.Default.CheckpointDocument);
                foreach (var entry in document?.Files ?? [])
                {
                    positions[new FileIdentity(entry.Device, entry.Inode)] =
                        new FilePosition(entry.Path, entry.Offset, entry.FingerprintLength, entry.Fingerprint);
                }
            }
            catch (JsonException e)
            {
                throw new SidecarConfigException($"stateDir: '{path}' is not a valid checkpoint file ({e.Message}); delete it to start over");
            }
        }

        return new CheckpointStore(directory, positions);
    }

    public FilePosition? Find(FileIdentity identity)
    {
        lock (gate)
        {
            return positions.GetValueOrDefault(identity);
        }
    }

    public List<FileIdentity> Identities()
    {
        lock (gate)
        {
            return [.. positions.Keys];
        }
    }

    public long AcknowledgedOffset(FileIdentity identity)
    {
        lock (gate)
        {
            return positions.TryGetValue(identity, out var position) ? position.Offset : 0;
        }
    }

    /// <summary>Applies acknowledged positions and persists them atomically (write a temporary file, rename).</summary>
    public void Commit(IReadOnlyDictionary<FileIdentity, FilePosition> updates)
    {
        if (updates.Count == 0)
        {
            return;
        }

        CheckpointDocument document;
        lock (gate)
        {
            foreach (var (identity, position) in updates)
            {
                if (position.Closed)
                {
                    positions.Remove(identity);
                }
                else
                {
                    positions[identity] = position;
                }
            }

            document = new CheckpointDocument
            {
                Files = [.. positions.Select(p => new CheckpointEntry
                {
                    Device = p.Key.Device,
                    Inode = p.Key.Inode,
                    Path = p.Value.Path,
                    Offset = p.Value.Offset,
                    FingerprintLength = p.Value.FingerprintLength,
                    Fingerprint = p.Value.Fingerprint,
                })],
            };
        }

        using (var stream = new FileStream(temporaryPath, FileMode.Create, FileAccess.Write, FileShare.None, 4096))
        {
            // No fsync: the page cache survives a crash or kill -9 of the process, and the state volume
            // (an emptyDir) does not outlive the node anyway, so an fsync per batch would buy nothing.
            JsonSerializer.Serialize(stream, document, CheckpointJsonContext.Default.CheckpointDocument);
        }

        File.Move(temporaryPath, path, overwrite: true);
    }
}
