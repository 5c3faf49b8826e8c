using BenchmarkDotNet.Running;

// `make bench` runs these; each benchmark class prints its own baseline ratio.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
