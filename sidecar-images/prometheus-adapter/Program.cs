// Placeholder until the prometheus-adapter issue lands: the project exists so the solution layout is complete.
Console.Error.WriteLine("prometheus-adapter: not implemented yet");
return 1;
