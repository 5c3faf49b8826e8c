using System.Runtime.InteropServices;

namespace SidecarInjector.Testing.LocalKubelet;

/// <summary>Signals by number (.NET's Process.Kill only sends SIGKILL to one process), and the user id.</summary>
internal static partial class Native
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chown(string path, int owner, int group);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();
}
