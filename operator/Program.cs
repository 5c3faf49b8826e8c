// Placeholder until the operator issue lands: the project exists so the solution layout is complete.
Console.Error.WriteLine("sidecar-injector-operator: not implemented yet");
return 1;
