namespace SidecarInjector.LogShipper.Pipeline;

/// <summary>One encoded record inside a <see cref="Batch"/>: where its JSON is, when it happened, which file it came from.</summary>
internal readonly record struct LogRecord(int Start, int Length, long TimeUnixNano, int Source);
