using SidecarInjector.Crds.Schema;

// Writes the files derived from the C# types into the repository given as the first argument
// (default: the current directory). CrdGeneratorTests fails when a committed file is stale.
var root = args.Length > 0 ? args[0] : Directory.GetCurrentDirectory();
var crd = Path.Combine(root, "crds", CrdGenerator.FileName);
if (!Directory.Exists(Path.GetDirectoryName(crd)))
{
    Console.Error.WriteLine($"manifests: {Path.GetDirectoryName(crd)} does not exist; pass the repository root");
    return 2;
}

File.WriteAllText(crd, CrdGenerator.GenerateFile());
Console.WriteLine($"wrote {crd}");
return 0;
