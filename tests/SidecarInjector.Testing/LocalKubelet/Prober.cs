using System.Globalization;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>One check of an exec, httpGet or tcpSocket probe, as the kubelet's prober runs it (pkg/kubelet/prober).</summary>
internal static class Prober
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler
    {
        // The kubelet does not verify a probe's certificate.
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        PooledConnectionLifetime = TimeSpan.Zero,
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>Returns null on success, else why it failed.</summary>
    public static async Task<string?> CheckAsync(JsonObject probe, JsonObject container, ContainerProcess process, CancellationToken cancellationToken)
    {
        var timeout = TimeSpan.FromSeconds(JsonNumber.Int(probe["timeoutSeconds"]) ?? 1);
        try
        {
            if (probe["exec"] is JsonObject exec)
            {
                var command = (exec["command"] as JsonArray ?? []).Select(c => c?.GetValue<string>() ?? string.Empty).ToList();
                var result = await process.ExecAsync(command, timeout, cancellationToken);
                return result switch
                {
                    null => $"command timed out after {timeout.TotalSeconds:0}s",
                    { ExitCode: 0 } => null,
                    { } r => $"command failed with exit code {r.ExitCode}: {r.Output.Trim()}",
                };
            }

            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(timeout);
            if (probe["httpGet"] is JsonObject get)
            {
                var port = Port(get["port"], container);
                var host = get["host"]?.GetValue<string>() is { Length: > 0 } h ? h : process.Launch.PodIp;
                var scheme = (get["scheme"]?.GetValue<string>() ?? "HTTP").ToLowerInvariant();
                var path = get["path"]?.GetValue<string>() ?? "/";
                using var request = new HttpRequestMessage(HttpMethod.Get, $"{scheme}://{host}:{port.ToString(CultureInfo.InvariantCulture)}{(path.StartsWith('/') ? path : "/" + path)}");
                request.Headers.TryAddWithoutValidation("User-Agent", "kube-probe/1.33");
                foreach (var header in get["httpHeaders"] as JsonArray ?? [])
                {
                    request.Headers.TryAddWithoutValidation(header?["name"]?.GetValue<string>() ?? string.Empty, header?["value"]?.GetValue<string>());
                }

                using var response = await Http.SendAsync(request, limit.Token);
                var code = (int)response.StatusCode;
                return code is >= 200 and < 400 ? null : $"HTTP probe failed with statuscode: {code}";
            }

            if (probe["tcpSocket"] is JsonObject tcp)
            {
                var port = Port(tcp["port"], container);
                var host = tcp["host"]?.GetValue<string>() is { Length: > 0 } h ? h : process.Launch.PodIp;
                using var client = new TcpClient();
                await client.ConnectAsync(host, port, limit.Token);
                return null;
            }

            return "probe type not modelled by the local kubelet (only exec, httpGet, tcpSocket)";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"probe timed out after {timeout.TotalSeconds:0}s";
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException or InvalidOperationException)
        {
            return e.Message;
        }
    }

    private static int Port(JsonNode? port, JsonObject container)
    {
        if (JsonNumber.Int(port) is { } number)
        {
            return number;
        }

        var name = port?.GetValue<string>() ?? string.Empty;
        return JsonNumber.Int((container["ports"] as JsonArray ?? []).FirstOrDefault(p => p?["name"]?.GetValue<string>() == name)?["containerPort"])
            ?? throw new InvalidOperationException($"probe port \"{name}\" is not a port of container \"{container["name"]}\"");
    }
}
