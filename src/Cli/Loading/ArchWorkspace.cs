using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Torchwright.Dsl;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Resolution;
using Torchwright.Dsl.Syntax;

namespace Torchwright.Cli.Loading
{
    /// <summary>
    /// The .arch files one command works on: the files named on the command line (the "root" files, whose
    /// architectures and sweeps get reported) plus everything they import, transitively, read from disk.
    /// </summary>
    public sealed class ArchWorkspace
    {
        private ArchWorkspace(IReadOnlyList<ArchFile> roots, IReadOnlyList<ArchFile> all, List<Diagnostic> parseDiagnostics)
        {
            Roots = roots;
            Files = all;
            ParseDiagnostics = parseDiagnostics;
        }

        /// <summary>The files named on the command line, in command-line order.</summary>
        public IReadOnlyList<ArchFile> Roots { get; }

        /// <summary>Roots and imports, each once.</summary>
        public IReadOnlyList<ArchFile> Files { get; }

        private List<Diagnostic> ParseDiagnostics { get; }

        /// <summary>Names of the architectures declared in the root files, in declaration order.</summary>
        public IEnumerable<string> RootArchitectureNames => Roots.SelectMany(f => f.Archs).Select(a => a.Name);

        /// <summary>Names of the sweeps declared in the root files, in declaration order.</summary>
        public IEnumerable<string> RootSweepNames => Roots.SelectMany(f => f.Sweeps).Select(s => s.Name);

        /// <summary>Resolves, builds and checks everything. Parse diagnostics come first.</summary>
        public CompilationResult Compile() => Compile(Files);

        /// <summary>Compiles an edited set of this workspace's files (e.g. with command-line sweep axes), keeping its parse
        /// diagnostics; with <paramref name="sample"/>, only those grid points of its sweep are built.</summary>
        public CompilationResult Compile(IReadOnlyList<ArchFile> files, Torchwright.Dsl.Resolution.SweepSample? sample = null) =>
            ArchCompiler.Compile(files, new List<Diagnostic>(ParseDiagnostics), sample);

        /// <summary>
        /// Expands directories (every *.arch below them, sorted), then loads each file and its imports.
        /// Paths that do not exist are returned in <paramref name="missing"/> and the workspace is null.
        /// </summary>
        public static ArchWorkspace? Load(IEnumerable<string> inputs, bool allowDirectories, out IReadOnlyList<string> missing, out IReadOnlyList<string> problems)
        {
            var missingList = new List<string>();
            var problemList = new List<string>();
            missing = missingList;
            problems = problemList;

            var rootPaths = new List<string>();
            foreach (var input in inputs)
            {
                if (File.Exists(input)) rootPaths.Add(input);
                else if (Directory.Exists(input))
                {
                    if (!allowDirectories) { problemList.Add($"{DisplayText.Escape(input)} is a directory; give a .arch file"); continue; }
                    var found = Directory.EnumerateFiles(input, "*.arch", SearchOption.AllDirectories)
                        .Select(p => p.Replace('\\', '/'))
                        .OrderBy(p => p, StringComparer.Ordinal)
                        .ToList();
                    if (found.Count == 0) problemList.Add($"no .arch files found under {DisplayText.Escape(input)}");
                    rootPaths.AddRange(found);
                }
                else missingList.Add(DisplayText.Escape(input));
            }
            if (missingList.Count > 0 || problemList.Count > 0) return null;

            var diagnostics = new List<Diagnostic>();
            var loaded = new Dictionary<string, ArchFile>(PathComparer);
            var order = new List<ArchFile>();
            var roots = new List<ArchFile>();
            var queue = new Queue<string>();

            // A root file that cannot be read is a one-line problem; an import, a diagnostic at the import statement.
            ArchFile? LoadOne(string path, string? name = null, ImportDecl? import = null)
            {
                var full = Path.GetFullPath(path);
                if (loaded.TryGetValue(full, out var existing)) return existing;
                string text;
                try
                {
                    var outcome = ArchFileReader.TryRead(full, out text, out var kind, out long size);
                    if (outcome == ArchFileReader.Outcome.NotRegular || outcome == ArchFileReader.Outcome.TooLarge)
                    {
                        if (import != null)
                            diagnostics.Add(outcome == ArchFileReader.Outcome.NotRegular
                                ? DiagnosticCatalog.ImportNotRegularFile.Create(import.Location, DisplayText.Escape(import.Path), kind!)
                                : DiagnosticCatalog.ImportTooLarge.Create(import.Location, DisplayText.Escape(import.Path), size, WorkLimits.MaxFileBytes));
                        else
                            problemList.Add(outcome == ArchFileReader.Outcome.NotRegular
                                ? $"{DisplayText.Escape(path)} is {kind}, not a regular file; give a .arch file"
                                : $"{DisplayText.Escape(path)} is {size:N0} bytes, over the cap of {WorkLimits.MaxFileBytes:N0} bytes for a .arch file");
                        return null;
                    }
                    if (outcome == ArchFileReader.Outcome.Missing) return null; // reported by the resolver (imports) or above (roots)
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    problemList.Add($"cannot read {DisplayText.Escape(path)}: {e.Message}");
                    return null;
                }
                var file = ArchParser.Parse(name ?? DisplayPath(full), text, diagnostics);
                loaded[full] = file;
                order.Add(file);
                queue.Enqueue(full);
                return file;
            }

            foreach (var p in rootPaths)
            {
                var f = LoadOne(p);
                if (f != null && !roots.Contains(f)) roots.Add(f);
            }

            // Imports, breadth-first. An import that does not exist on disk is left to the resolver, which
            // reports it at the import statement (or accepts a bare zoo file name such as "resnet50.arch").
            while (queue.Count > 0)
            {
                var full = queue.Dequeue();
                var file = loaded[full];
                foreach (var imp in file.Imports)
                {
                    var target = ArchResolver.NormalizePath(ArchResolver.CombineRelative(file.Path, imp.Path));
                    // Named exactly as the resolver will look for it. An empty path is the resolver's to report.
                    if (imp.Path.Length > 0 && (File.Exists(target) || Directory.Exists(target))) LoadOne(target, target, imp);
                }
            }
            if (problemList.Count > 0) return null;
            return new ArchWorkspace(roots, order, diagnostics);
        }

        private static StringComparer PathComparer =>
            OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;

        /// <summary>
        /// How a file is named in diagnostics and for import resolution: relative to the current directory when it
        /// lies below it, absolute otherwise; always with forward slashes.
        /// </summary>
        public static string DisplayPath(string fullPath)
        {
            var rel = Path.GetRelativePath(Directory.GetCurrentDirectory(), fullPath);
            var chosen = rel.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(rel) ? fullPath : rel;
            return ArchResolver.NormalizePath(chosen.Replace('\\', '/'));
        }
    }
}
