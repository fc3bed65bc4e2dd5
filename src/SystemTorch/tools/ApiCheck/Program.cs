using System.Reflection;
using System.Runtime.Loader;
var st = new AssemblyLoadContext("st", true).LoadFromAssemblyPath(args[0]);
var tsCtx = new AssemblyLoadContext("ts", true);
tsCtx.Resolving += (c, n) => { var p = Path.Combine(Path.GetDirectoryName(args[1])!, n.Name + ".dll"); return File.Exists(p) ? c.LoadFromAssemblyPath(p) : null; };
var ts = tsCtx.LoadFromAssemblyPath(args[1]);
Type[] Types(Assembly a) { try { return a.GetExportedTypes(); } catch (ReflectionTypeLoadException e) { return e.Types.Where(t => t != null && t.IsPublic).ToArray()!; } }
var tsTypes = Types(ts).ToDictionary(t => t.FullName!);
string Sig(MemberInfo m) => m switch {
    MethodBase mb => $"{(mb.IsStatic ? "static " : "")}{m.Name}({string.Join(", ", mb.GetParameters().Select(p => p.ParameterType.ToString().Replace("TorchSharp.", "") + " " + p.Name + (p.HasDefaultValue ? "=" + (p.DefaultValue ?? "null") : "")))})",
    PropertyInfo pi => $"prop {pi.Name}:{pi.PropertyType.Name}",
    FieldInfo fi => $"field {fi.Name}",
    EventInfo ei => $"event {ei.Name}",
    Type t => $"type {t.Name}",
    _ => m.Name };
int missing = 0;
foreach (var t in Types(st).OrderBy(t => t.FullName)) {
    if (!tsTypes.TryGetValue(t.FullName!, out var tt)) { Console.WriteLine($"EXTRA TYPE {t.FullName}"); missing++; continue; }
    var flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
    var theirs = new HashSet<string>(tt.GetMembers(flags | BindingFlags.NonPublic).Where(m => m is not MethodBase mb || mb.IsPublic || mb.IsFamily || mb.IsFamilyOrAssembly).Select(Sig));
    // include inherited for lookup
    for (var b = tt.BaseType; b != null; b = b.BaseType) foreach (var m in b.GetMembers(flags)) theirs.Add(Sig(m));
    foreach (var m in t.GetMembers(flags | BindingFlags.NonPublic)) {
        if (m is MethodBase mb && !(mb.IsPublic || mb.IsFamily || mb.IsFamilyOrAssembly)) continue;
        if (m is FieldInfo fi && !(fi.IsPublic || fi.IsFamily)) continue;
        if (m is PropertyInfo pi && !((pi.GetMethod?.IsPublic ?? false) || (pi.GetMethod?.IsFamily ?? false) || (pi.SetMethod?.IsPublic ?? false))) continue;
        if (m is MethodInfo mi && mi.IsSpecialName && (mi.Name.StartsWith("get_") || mi.Name.StartsWith("set_"))) continue;
        if (m is Type nt && !(nt.IsNestedPublic || nt.IsNestedFamily)) continue;
        var s = Sig(m);
        if (!theirs.Contains(s)) { Console.WriteLine($"{t.FullName}: {s}"); missing++; }
    }
}
Console.WriteLine($"{missing} differences");
