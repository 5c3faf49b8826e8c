using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace SidecarInjector.LogShipper.Tailing;

/// <summary>
/// A file by identity (device and inode), not by name: what lets rotation by rename be followed,
/// as Fluent Bit's tail input and Filebeat do.
/// </summary>
internal readonly partial record struct FileIdentity(ulong Device, ulong Inode)
{
    // struct stat on 64-bit Linux (x86_64 and the generic layout of arm64) starts with st_dev then st_ino, 8 bytes each.
    private const int StatBufferSize = 256;

    public override string ToString() => $"{Device}:{Inode}";

    public static FileIdentity? OfPath(string path)
    {
        Span<byte> buffer = stackalloc byte[StatBufferSize];
        return Stat(path, ref MemoryMarshal.GetReference(buffer)) == 0 ? FromBuffer(buffer) : null;
    }

    public static FileIdentity OfHandle(SafeFileHandle handle)
    {
        Span<byte> buffer = stackalloc byte[StatBufferSize];
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (FStat((int)handle.DangerousGetHandle(), ref MemoryMarshal.GetReference(buffer)) != 0)
            {
                throw new IOException($"fstat failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        return FromBuffer(buffer);
    }

    private static FileIdentity FromBuffer(ReadOnlySpan<byte> buffer) =>
        new(MemoryMarshal.Read<ulong>(buffer), MemoryMarshal.Read<ulong>(buffer[8..]));

    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Stat(string path, ref byte buffer);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int FStat(int fd, ref byte buffer);
}
