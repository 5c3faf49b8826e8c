// Placeholder until the redis-ambassador issue lands: the project exists so the solution layout is complete.
Console.Error.WriteLine("redis-ambassador: not implemented yet");
return 1;
