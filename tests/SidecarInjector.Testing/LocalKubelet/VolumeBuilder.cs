using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>
/// Makes each of a pod's volumes a directory under the pod's directory: emptyDir empty and writable by
/// all, configMap/secret/downwardAPI/projected filled with their files (keys or items, modes,
/// <c>optional</c>), the projected service-account token from the kubelet's token issuer. fsGroup
/// becomes the files' group, as the kubelet's volume ownership does.
/// </summary>
internal sealed class VolumeBuilder(
    Func<string, string, JsonObject?> lookup,
    Func<TokenRequest, string> issueToken,
    NodeResources node)
{
    /// <summary>Writes every volume; returns volume name to host directory. Throws <see cref="ContainerConfigException"/> for a volume that cannot be mounted.</summary>
    public Dictionary<string, string> Build(JsonObject pod, string volumesDirectory)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var fsGroup = JsonNumber.Long(pod["spec"]?["securityContext"]?["fsGroup"]);
        foreach (var volume in pod["spec"]?["volumes"] as JsonArray ?? [])
        {
            var name = volume?["name"]?.GetValue<string>() ?? string.Empty;
            var dir = Path.Combine(volumesDirectory, name);
            if (Directory.Exists(dir))
            {
                // Written on an earlier attempt; emptyDir contents survive container restarts.
                result[name] = dir;
                continue;
            }

            var partial = dir + ".partial";
            if (Directory.Exists(partial))
            {
                Directory.Delete(partial, recursive: true);
            }

            Directory.CreateDirectory(partial);
            try
            {
                Fill((JsonObject)volume!, pod, name, partial, fsGroup);
            }
            catch
            {
                Directory.Delete(partial, recursive: true);
                throw;
            }

            Directory.Move(partial, dir);
            result[name] = dir;
        }

        return result;
    }

    private void Fill(JsonObject volume, JsonObject pod, string name, string dir, long? fsGroup)
    {
        if (volume["emptyDir"] is not null)
        {
            File.SetUnixFileMode(dir, (UnixFileMode)0b111_111_111);
            if (fsGroup is { } group)
            {
                Chown(dir, group);
                File.SetUnixFileMode(dir, (UnixFileMode)0b111_111_111 | UnixFileMode.SetGroup);
            }

            return;
        }

        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        var files = new List<(string Path, byte[] Content, int? Mode)>();
        int defaultMode;
        if (volume["configMap"] is JsonObject cm)
        {
            defaultMode = JsonNumber.Int(cm["defaultMode"]) ?? 420;
            AddKeys(files, "ConfigMap", cm, cm["name"]?.GetValue<string>(), pod, name);
        }
        else if (volume["secret"] is JsonObject secret)
        {
            defaultMode = JsonNumber.Int(secret["defaultMode"]) ?? 420;
            AddKeys(files, "Secret", secret, secret["secretName"]?.GetValue<string>(), pod, name);
        }
        else if (volume["downwardAPI"] is JsonObject downward)
        {
            defaultMode = JsonNumber.Int(downward["defaultMode"]) ?? 420;
            AddDownward(files, downward, pod);
        }
        else if (volume["projected"] is JsonObject projected)
        {
            defaultMode = JsonNumber.Int(projected["defaultMode"]) ?? 420;
            foreach (var source in projected["sources"] as JsonArray ?? [])
            {
                if (source?["configMap"] is JsonObject pcm)
                {
                    AddKeys(files, "ConfigMap", pcm, pcm["name"]?.GetValue<string>(), pod, name);
                }
                else if (source?["secret"] is JsonObject ps)
                {
                    AddKeys(files, "Secret", ps, ps["name"]?.GetValue<string>(), pod, name);
                }
                else if (source?["downwardAPI"] is JsonObject pd)
                {
                    AddDownward(files, pd, pod);
                }
                else if (source?["serviceAccountToken"] is JsonObject token)
                {
                    var request = new TokenRequest(
                        pod["metadata"]?["namespace"]?.GetValue<string>() ?? "default",
                        pod["spec"]?["serviceAccountName"]?.GetValue<string>() ?? "default",
                        token["audience"]?.GetValue<string>(),
                        JsonNumber.Long(token["expirationSeconds"]) ?? 3600,
                        pod["metadata"]?["name"]?.GetValue<string>() ?? string.Empty,
                        pod["metadata"]?["uid"]?.GetValue<string>() ?? string.Empty);
                    files.Add((token["path"]?.GetValue<string>() ?? "token", Encoding.UTF8.GetBytes(issueToken(request)), null));
                }
                else
                {
                    throw new ContainerConfigException($"volume \"{name}\": a projected source the local kubelet does not model: {source?.ToJsonString()}");
                }
            }
        }
        else
        {
            var kind = volume.Select(kv => kv.Key).FirstOrDefault(k => k != "name") ?? "(none)";
            throw new ContainerConfigException($"volume \"{name}\": type {kind} is not modelled by the local kubelet");
        }

        foreach (var (relative, content, mode) in files)
        {
            var path = Path.Combine(dir, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, content);
            var bits = mode ?? defaultMode;
            if (fsGroup is { } group)
            {
                // The kubelet makes fsGroup the owner group and lets it read.
                Chown(path, group);
                bits |= 0b000_100_000;
            }

            File.SetUnixFileMode(path, (UnixFileMode)bits);
        }
    }

    private void AddKeys(List<(string, byte[], int?)> files, string kind, JsonObject source, string? objectName, JsonObject pod, string volume)
    {
        var obj = lookup(kind, objectName ?? string.Empty);
        var optional = source["optional"]?.GetValue<bool>() == true;
        if (obj is null)
        {
            if (optional)
            {
                return;
            }

            throw new ContainerConfigException($"MountVolume.SetUp failed for volume \"{volume}\": {kind.ToLowerInvariant()} \"{objectName}\" not found");
        }

        var data = ContainerEnvironment.DataBytes(kind, obj);
        if (source["items"] is JsonArray items)
        {
            foreach (var item in items)
            {
                var key = item?["key"]?.GetValue<string>() ?? string.Empty;
                if (!data.TryGetValue(key, out var content))
                {
                    if (optional)
                    {
                        continue;
                    }

                    throw new ContainerConfigException($"MountVolume.SetUp failed for volume \"{volume}\": configuration key \"{key}\" not found in {kind} {pod["metadata"]?["namespace"]}/{objectName}");
                }

                files.Add((item?["path"]?.GetValue<string>() ?? key, content, JsonNumber.Int(item?["mode"])));
            }

            return;
        }

        files.AddRange(data.Select(kv => (kv.Key, kv.Value, (int?)null)));
    }

    private void AddDownward(List<(string, byte[], int?)> files, JsonObject source, JsonObject pod)
    {
        foreach (var item in source["items"] as JsonArray ?? [])
        {
            string value;
            if (item?["fieldRef"] is JsonObject field)
            {
                value = DownwardApi.FieldValue(pod, field["fieldPath"]?.GetValue<string>() ?? string.Empty, forVolume: true);
            }
            else if (item?["resourceFieldRef"] is JsonObject resource)
            {
                var containerName = resource["containerName"]?.GetValue<string>();
                var container = (pod["spec"]?["containers"] as JsonArray ?? []).Concat(pod["spec"]?["initContainers"] as JsonArray ?? [])
                    .OfType<JsonObject>().FirstOrDefault(c => c["name"]?.GetValue<string>() == containerName)
                    ?? throw new ContainerConfigException($"downwardAPI resourceFieldRef: no container \"{containerName}\"");
                value = DownwardApi.ResourceValue(container, resource["resource"]?.GetValue<string>() ?? string.Empty, resource["divisor"]?.ToString(), node);
            }
            else
            {
                continue;
            }

            files.Add((item?["path"]?.GetValue<string>() ?? string.Empty, Encoding.UTF8.GetBytes(value), JsonNumber.Int(item?["mode"])));
        }
    }

    private static void Chown(string path, long group)
    {
        if (Native.Chown(path, -1, (int)group) != 0)
        {
            throw new InvalidOperationException($"chown :{group.ToString(CultureInfo.InvariantCulture)} {path} failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
        }
    }
}
