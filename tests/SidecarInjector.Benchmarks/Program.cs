using BenchmarkDotNet.Running;
using SidecarInjector.Benchmarks;

// `make bench` runs these; each benchmark class prints its own baseline ratio.
BenchmarkSwitcher.FromAssembly(typeof(EngineBenchmarks).Assembly).Run(args);
