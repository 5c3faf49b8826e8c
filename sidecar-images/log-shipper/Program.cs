// Placeholder until the log-shipper issue lands: the project exists so the solution layout is complete.
Console.Error.WriteLine("log-shipper: not implemented yet");
return 1;
