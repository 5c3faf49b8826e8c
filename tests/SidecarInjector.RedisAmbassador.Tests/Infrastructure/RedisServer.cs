using System.Diagnostics;
using System.Net.Sockets;
using SidecarInjector.Tests.Shared;

namespace SidecarInjector.RedisAmbassador.Tests.Infrastructure;

/// <summary>A real redis-server on a free loopback port, killed when disposed.</summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private readonly string[] extraArgs;
    private Process? process;

    private RedisServer(int port, string[] extraArgs)
    {
        Port = port;
        this.extraArgs = extraArgs;
    }

    public int Port { get; }

    public string Url => $"redis://127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync(params string[] extraArgs)
    {
        var server = new RedisServer(FreePort.Next(), extraArgs);
        await server.RestartAsync();
        return server;
    }

    public async Task RestartAsync()
    {
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // Later options win, so extraArgs may override these; "{port}" in them stands for Port.
        foreach (var arg in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--enable-debug-command", "yes" }.Concat(extraArgs))
        {
            start.ArgumentList.Add(arg.Replace("{port}", Port.ToString(), StringComparison.Ordinal));
        }

        process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await Eventually.UntilAsync(CanConnectAsync, ok => ok, $"redis-server on port {Port} accepting");
    }

    // Waits asynchronously: with DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 (as the ambassador ships) a
    // test's continuation may run on a socket thread, and blocking it there would hang the test process.
    public async Task KillAsync()
    {
        if (process is { HasExited: false })
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>
    /// Waits until Redis stops answering PING: a DEBUG SLEEP sent to it is running (Redis is single-threaded).
    /// </summary>
    public async Task WaitUntilBusyAsync()
    {
        await Eventually.UntilAsync(
            async () =>
            {
                using var direct = await RespClient.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, Port));
                await direct.SendAsync(["PING"]);
                try
                {
                    // Idle, Redis answers in microseconds; a second leaves room for a loaded machine.
                    await direct.ReadAsync(timeoutSeconds: 1);
                    return false;
                }
                catch (OperationCanceledException)
                {
                    return true;
                }
            },
            busy => busy,
            "DEBUG SLEEP running in redis-server");
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process?.Dispose();
    }

    private async Task<bool> CanConnectAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", Port, TestContext.Current.CancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
