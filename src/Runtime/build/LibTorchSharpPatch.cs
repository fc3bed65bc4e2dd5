// Torchwright build step: make TorchSharp's libLibTorchSharp.so load on hosts whose libstdc++ predates GCC 13.
//
// libLibTorchSharp.so (TorchSharp 0.107, built with GCC 13) carries a version requirement (a Vernaux entry in
// .gnu.version_r) on GLIBCXX_3.4.32 of libstdc++.so.6. The only symbol bound to that version is
// _ZSt21ios_base_library_initv, a marker GCC 13 emits for <iostream> users and that nothing calls or relocates.
// glibc's loader refuses the library when a required version is missing unless the entry has VER_FLG_WEAK, so this
// step sets that flag (2 bytes) on the output copy - only when the host libstdc++ lacks the version, only after
// proving nothing else binds to it, and never in place (temp file + atomic rename, so a hard link or symlink into
// the NuGet cache is broken, never written through). See docs/native-libraries.md.
//
// This one file is compiled twice: by MSBuild's RoslynCodeTaskFactory (netstandard2.0 reference set, so only
// netstandard2.0 APIs here) from build/Torchwright.Runtime.targets, and by tests/Runtime.Tests with
// TORCHWRIGHT_ELF_ONLY defined, which leaves out the MSBuild task class at the bottom.
#nullable enable
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace Torchwright.Build
{
    /// <summary>What is wrong with an ELF file; each has its own wording in <see cref="ElfFormatException"/>.</summary>
    public enum ElfProblem
    {
        Truncated,
        BadMagic,
        NotElf64,
        NotLittleEndian,
        BadElfVersion,
        NotX8664,
        NotSharedObject,
        NoSectionTable,
        SectionTableOutOfBounds,
        ProgramHeadersOutOfBounds,
        SectionOutOfBounds,
        LinkOutOfRange,
        LinkNotStringTable,
        BadEntrySize,
        ChainOutOfBounds,
        ChainLoop,
        BadVersionStructure,
        StringOutOfRange,
        StringNotTerminated,
        DuplicateSection,
        DynamicMismatch,
    }

    /// <summary>An ELF file is malformed or not what the step can safely handle. Nothing was written.</summary>
    public sealed class ElfFormatException : Exception
    {
        public ElfFormatException(string path, ElfProblem problem, string detail)
            : base(path + ": " + detail)
        {
            Path = path;
            Problem = problem;
            Detail = detail;
        }

        public string Path { get; }
        public ElfProblem Problem { get; }
        public string Detail { get; }
    }

    /// <summary>One section header (Elf64_Shdr).</summary>
    public sealed class ElfSection
    {
        public int Index;
        public string Name = "";
        public uint Type;
        public ulong Flags;
        public ulong Addr;
        public ulong Offset;
        public ulong Size;
        public uint Link;
        public uint Info;
        public ulong EntSize;
    }

    /// <summary>One Vernaux entry of .gnu.version_r: library <see cref="File"/> must define <see cref="Version"/>.</summary>
    public sealed class VersionNeed
    {
        public string File = "";
        public string Version = "";
        public ushort Flags;
        /// <summary>vna_other: the version index symbols use in .gnu.version.</summary>
        public ushort Index;
        /// <summary>File offset of the 16-bit vna_flags field.</summary>
        public long FlagsOffset;
        public bool IsWeak => (Flags & ElfImage.VerFlagWeak) != 0;
    }

    /// <summary>A dynamic symbol (Elf64_Sym) with its name.</summary>
    public sealed class DynamicSymbol
    {
        public int Index;
        public string Name = "";
        public ushort SectionIndex;
        public bool IsUndefined => SectionIndex == 0;
    }

    /// <summary>
    /// Read-only view of the dynamic-linking parts of an ELF64 little-endian x86-64 shared object. Reads only the
    /// headers and the sections it is asked about (a 460 MB libtorch_cpu.so costs a few kilobytes), checks every offset,
    /// size, link and chain it follows, and throws <see cref="ElfFormatException"/> on the first inconsistency.
    /// </summary>
    public sealed class ElfImage : IDisposable
    {
        public const uint ShtNull = 0, ShtStrtab = 3, ShtRela = 4, ShtDynamic = 6, ShtNobits = 8, ShtRel = 9, ShtDynsym = 11;
        public const uint ShtGnuVerdef = 0x6ffffffd, ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;
        public const ushort VerFlagBase = 1, VerFlagWeak = 2;
        const long DtNull = 0, DtNeeded = 1, DtVerneed = 0x6ffffffe, DtVerneedNum = 0x6fffffff;
        const uint PtLoad = 1, PtDynamic = 2;

        readonly Stream _stream;
        readonly bool _ownsStream;
        readonly List<ElfSection> _sections = new List<ElfSection>();
        readonly List<(ulong Offset, ulong Vaddr, ulong FileSize, uint Type)> _segments = new List<(ulong, ulong, ulong, uint)>();

        ElfImage(string path, Stream stream, bool ownsStream)
        {
            Path = path;
            _stream = stream;
            _ownsStream = ownsStream;
            Length = stream.Length;
        }

        public string Path { get; }
        public long Length { get; }
        public IReadOnlyList<ElfSection> Sections => _sections;

        public static ElfImage Open(string path)
        {
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.RandomAccess);
            try
            {
                return Open(path, stream, ownsStream: true);
            }
            catch
            {
                stream.Dispose();
                throw;
            }
        }

        public static ElfImage Open(string path, Stream stream, bool ownsStream)
        {
            var image = new ElfImage(path, stream, ownsStream);
            image.ReadHeaders();
            return image;
        }

        public void Dispose()
        {
            if (_ownsStream)
                _stream.Dispose();
        }

        ElfFormatException Fail(ElfProblem problem, string detail) => new ElfFormatException(Path, problem, detail);

        byte[] Read(ulong offset, ulong count, string what)
        {
            if (offset > (ulong)Length || count > (ulong)Length - offset)
                throw Fail(ElfProblem.Truncated, $"{what} at offset 0x{offset:x} (+{count} bytes) lies beyond the end of the file ({Length} bytes)");
            if (count > int.MaxValue)
                throw Fail(ElfProblem.SectionOutOfBounds, $"{what} is implausibly large ({count} bytes)");
            var buffer = new byte[count];
            _stream.Seek((long)offset, SeekOrigin.Begin);
            int done = 0;
            while (done < buffer.Length)
            {
                int n = _stream.Read(buffer, done, buffer.Length - done);
                if (n <= 0)
                    throw Fail(ElfProblem.Truncated, $"unexpected end of file reading {what}");
                done += n;
            }
            return buffer;
        }

        internal static ushort U16(byte[] b, int o) => (ushort)(b[o] | b[o + 1] << 8);
        internal static uint U32(byte[] b, int o) => (uint)(b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24);
        internal static ulong U64(byte[] b, int o) => U32(b, o) | (ulong)U32(b, o + 4) << 32;

        void ReadHeaders()
        {
            if (Length < 16)
                throw Fail(ElfProblem.Truncated, $"file is {Length} bytes, too short for an ELF identification");
            var ident = Read(0, 16, "ELF identification");
            if (ident[0] != 0x7f || ident[1] != (byte)'E' || ident[2] != (byte)'L' || ident[3] != (byte)'F')
                throw Fail(ElfProblem.BadMagic, "not an ELF file (bad magic)");
            if (ident[4] != 2)
                throw Fail(ElfProblem.NotElf64, ident[4] == 1 ? "32-bit ELF (ELFCLASS32); expected ELF64" : $"unknown ELF class {ident[4]}; expected ELF64");
            if (ident[5] != 1)
                throw Fail(ElfProblem.NotLittleEndian, ident[5] == 2 ? "big-endian ELF (ELFDATA2MSB); expected little-endian" : $"unknown ELF data encoding {ident[5]}");
            if (ident[6] != 1)
                throw Fail(ElfProblem.BadElfVersion, $"ELF version {ident[6]}; expected 1");
            if (Length < 64)
                throw Fail(ElfProblem.Truncated, $"file is {Length} bytes, too short for an ELF64 header");
            var h = Read(0, 64, "ELF header");
            ushort type = U16(h, 0x10), machine = U16(h, 0x12);
            if (machine != 62)
                throw Fail(ElfProblem.NotX8664, $"e_machine {machine}; expected 62 (x86-64)");
            if (type != 3)
                throw Fail(ElfProblem.NotSharedObject, $"e_type {type}; expected 3 (ET_DYN, shared object)");
            ulong phoff = U64(h, 0x20), shoff = U64(h, 0x28);
            ushort phentsize = U16(h, 0x36), phnum = U16(h, 0x38), shentsize = U16(h, 0x3a);
            ulong shnum = U16(h, 0x3c);
            uint shstrndx = U16(h, 0x3e);

            if (phnum != 0)
            {
                if (phentsize != 56)
                    throw Fail(ElfProblem.BadEntrySize, $"e_phentsize {phentsize}; expected 56");
                if (phoff > (ulong)Length || (ulong)phnum * 56 > (ulong)Length - phoff)
                    throw Fail(ElfProblem.ProgramHeadersOutOfBounds, $"program header table (offset 0x{phoff:x}, {phnum} entries) lies outside the file");
                var ph = Read(phoff, (ulong)phnum * 56, "program headers");
                for (int i = 0; i < phnum; i++)
                {
                    int o = i * 56;
                    _segments.Add((U64(ph, o + 8), U64(ph, o + 16), U64(ph, o + 32), U32(ph, o)));
                }
            }

            if (shoff == 0)
                throw Fail(ElfProblem.NoSectionTable, "no section header table; cannot verify the file");
            if (shentsize != 64)
                throw Fail(ElfProblem.BadEntrySize, $"e_shentsize {shentsize}; expected 64");
            if (shoff > (ulong)Length || 64 > (ulong)Length - shoff)
                throw Fail(ElfProblem.SectionTableOutOfBounds, $"section header table at 0x{shoff:x} lies outside the file ({Length} bytes)");
            if (shnum == 0 || shstrndx == 0xffff)
            {
                // Extended numbering: the real counts live in section header 0.
                var s0 = Read(shoff, 64, "section header 0");
                if (shnum == 0)
                    shnum = U64(s0, 0x20);
                if (shstrndx == 0xffff)
                    shstrndx = U32(s0, 0x28);
            }
            if (shnum == 0 || shnum > 1u << 20)
                throw Fail(ElfProblem.SectionTableOutOfBounds, $"implausible section count {shnum}");
            if (shnum * 64 > (ulong)Length - shoff)
                throw Fail(ElfProblem.SectionTableOutOfBounds, $"section header table (offset 0x{shoff:x}, {shnum} entries) extends beyond the end of the file ({Length} bytes)");
            var table = Read(shoff, shnum * 64, "section header table");
            for (int i = 0; i < (int)shnum; i++)
            {
                int o = i * 64;
                var s = new ElfSection
                {
                    Index = i,
                    Type = U32(table, o + 4),
                    Flags = U64(table, o + 8),
                    Addr = U64(table, o + 16),
                    Offset = U64(table, o + 24),
                    Size = U64(table, o + 32),
                    Link = U32(table, o + 40),
                    Info = U32(table, o + 44),
                    EntSize = U64(table, o + 56),
                };
                if (s.Type != ShtNobits && s.Type != ShtNull && (s.Offset > (ulong)Length || s.Size > (ulong)Length - s.Offset))
                    throw Fail(ElfProblem.SectionOutOfBounds, $"section {i} (offset 0x{s.Offset:x}, size {s.Size}) extends beyond the end of the file ({Length} bytes)");
                if (s.Link >= shnum)
                    throw Fail(ElfProblem.LinkOutOfRange, $"section {i} has sh_link {s.Link}, but there are only {shnum} sections");
                _sections.Add(s);
            }
            if (shstrndx >= shnum)
                throw Fail(ElfProblem.LinkOutOfRange, $"e_shstrndx {shstrndx} is out of range ({shnum} sections)");
            var shstr = _sections[(int)shstrndx];
            if (shstr.Type != ShtStrtab)
                throw Fail(ElfProblem.LinkNotStringTable, $"section-name table (section {shstrndx}) is not a string table");
            var names = Read(shstr.Offset, shstr.Size, "section-name table");
            int nameNo = 0;
            foreach (var s in _sections)
            {
                uint nameOffset = U32(table, nameNo++ * 64);
                if (nameOffset >= names.Length)
                    throw Fail(ElfProblem.StringOutOfRange, $"name of section {s.Index} at offset {nameOffset} is outside the section-name table ({names.Length} bytes)");
                int end = Array.IndexOf(names, (byte)0, (int)nameOffset);
                if (end < 0)
                    throw Fail(ElfProblem.StringNotTerminated, $"name of section {s.Index} is not NUL-terminated inside the section-name table");
                s.Name = Encoding.ASCII.GetString(names, (int)nameOffset, end - (int)nameOffset);
            }
        }

        /// <summary>The single section of a type, or null; two are an error (the loader sees only one).</summary>
        public ElfSection? SectionOfType(uint type)
        {
            ElfSection? found = null;
            foreach (var s in _sections)
            {
                if (s.Type != type)
                    continue;
                if (found != null)
                    throw Fail(ElfProblem.DuplicateSection, $"two sections of type 0x{type:x} ({found.Name}, {s.Name})");
                found = s;
            }
            return found;
        }

        ElfSection StringTableOf(ElfSection s)
        {
            var linked = _sections[(int)s.Link];
            if (linked.Type != ShtStrtab)
                throw Fail(ElfProblem.LinkNotStringTable, $"{s.Name} links to section {s.Link} ({linked.Name}), which is not a string table (SHT_STRTAB)");
            return linked;
        }

        /// <summary>Reads the NUL-terminated string at <paramref name="offset"/> of a string table, in bounds.</summary>
        public string ReadString(ElfSection strtab, ulong offset, string what)
        {
            if (offset >= strtab.Size)
                throw Fail(ElfProblem.StringOutOfRange, $"{what}: string offset {offset} is outside {strtab.Name} ({strtab.Size} bytes)");
            var sb = new StringBuilder();
            ulong position = strtab.Offset + offset, end = strtab.Offset + strtab.Size;
            while (position < end)
            {
                ulong chunk = Math.Min(256UL, end - position);
                var bytes = Read(position, chunk, what);
                int nul = Array.IndexOf(bytes, (byte)0);
                if (nul >= 0)
                {
                    sb.Append(Encoding.ASCII.GetString(bytes, 0, nul));
                    return sb.ToString();
                }
                sb.Append(Encoding.ASCII.GetString(bytes));
                position += chunk;
            }
            throw Fail(ElfProblem.StringNotTerminated, $"{what}: string at offset {offset} is not NUL-terminated inside {strtab.Name}");
        }

        /// <summary>Walks a Verneed/Verdef-style chain of fixed-size records inside a section and fails on loops or overruns.</summary>
        IEnumerable<(ulong Offset, byte[] Record)> Chain(ElfSection section, ulong start, ulong count, int recordSize, int nextField, string what)
        {
            ulong end = section.Offset + section.Size, offset = start;
            var seen = new HashSet<ulong>();
            for (ulong i = 0; i < count; i++)
            {
                if (offset < section.Offset || offset > end || (ulong)recordSize > end - offset)
                    throw Fail(ElfProblem.ChainOutOfBounds, $"{what} #{i} at offset 0x{offset:x} lies outside {section.Name} (0x{section.Offset:x}..0x{end:x})");
                if (!seen.Add(offset))
                    throw Fail(ElfProblem.ChainLoop, $"{what} chain loops back to offset 0x{offset:x}");
                var record = Read(offset, (ulong)recordSize, what);
                yield return (offset, record);
                uint next = U32(record, nextField);
                if (i + 1 < count)
                {
                    if (next == 0)
                        throw Fail(ElfProblem.ChainLoop, $"{what} #{i} has a zero next-offset but {count - i - 1} more entries are declared (the chain would loop on itself)");
                    offset += next;
                }
            }
        }

        ulong DeclaredCount(ElfSection section, int minRecordSize)
        {
            if (section.Info == 0 || section.Info > section.Size / (ulong)minRecordSize)
                throw Fail(ElfProblem.BadVersionStructure, $"{section.Name} declares {section.Info} entries in {section.Size} bytes");
            return section.Info;
        }

        /// <summary>All Vernaux entries of .gnu.version_r (empty when the file has none).</summary>
        public List<VersionNeed> ReadVersionNeeds()
        {
            var result = new List<VersionNeed>();
            var section = SectionOfType(ShtGnuVerneed);
            if (section == null)
                return result;
            var strtab = StringTableOf(section);
            foreach (var (offset, vn) in Chain(section, section.Offset, DeclaredCount(section, 16), 16, 12, "Verneed entry"))
            {
                if (U16(vn, 0) != 1)
                    throw Fail(ElfProblem.BadVersionStructure, $"Verneed at 0x{offset:x} has vn_version {U16(vn, 0)}; expected 1");
                ushort cnt = U16(vn, 2);
                string file = ReadString(strtab, U32(vn, 4), $"Verneed at 0x{offset:x} vn_file");
                uint aux = U32(vn, 8);
                if (cnt == 0)
                    throw Fail(ElfProblem.BadVersionStructure, $"Verneed for {file} has no Vernaux entries");
                if (aux < 16)
                    throw Fail(ElfProblem.ChainOutOfBounds, $"Verneed for {file} has vn_aux {aux}, which overlaps the Verneed itself");
                foreach (var (auxOffset, vna) in Chain(section, offset + aux, cnt, 16, 12, $"Vernaux of {file}"))
                {
                    result.Add(new VersionNeed
                    {
                        File = file,
                        Flags = U16(vna, 4),
                        Index = U16(vna, 6),
                        Version = ReadString(strtab, U32(vna, 8), $"Vernaux at 0x{auxOffset:x} vna_name"),
                        FlagsOffset = (long)auxOffset + 4,
                    });
                }
            }
            return result;
        }

        /// <summary>Names of the versions this library defines (.gnu.version_d), including the base (soname) entry.</summary>
        public List<string> ReadVersionDefinitions()
        {
            var result = new List<string>();
            var section = SectionOfType(ShtGnuVerdef);
            if (section == null)
                return result;
            var strtab = StringTableOf(section);
            foreach (var (offset, vd) in Chain(section, section.Offset, DeclaredCount(section, 20), 20, 16, "Verdef entry"))
            {
                if (U16(vd, 0) != 1)
                    throw Fail(ElfProblem.BadVersionStructure, $"Verdef at 0x{offset:x} has vd_version {U16(vd, 0)}; expected 1");
                ushort cnt = U16(vd, 6);
                uint aux = U32(vd, 12);
                if (cnt == 0)
                    throw Fail(ElfProblem.BadVersionStructure, $"Verdef at 0x{offset:x} has no Verdaux entries");
                if (aux < 20)
                    throw Fail(ElfProblem.ChainOutOfBounds, $"Verdef at 0x{offset:x} has vd_aux {aux}, which overlaps the Verdef itself");
                // The first Verdaux names the version; the rest name its parents.
                var first = Chain(section, offset + aux, 1, 8, 4, "Verdaux").First();
                result.Add(ReadString(strtab, U32(first.Record, 0), $"Verdaux at 0x{first.Offset:x} vda_name"));
            }
            return result;
        }

        ElfSection? DynamicSection()
        {
            var dynamic = SectionOfType(ShtDynamic);
            if (dynamic != null && dynamic.EntSize != 16)
                throw Fail(ElfProblem.BadEntrySize, $"{dynamic.Name} has sh_entsize {dynamic.EntSize}; expected 16");
            return dynamic;
        }

        IEnumerable<(long Tag, ulong Value)> DynamicEntries(ElfSection dynamic)
        {
            var bytes = Read(dynamic.Offset, dynamic.Size, dynamic.Name);
            for (int o = 0; o + 16 <= bytes.Length; o += 16)
            {
                long tag = (long)U64(bytes, o);
                if (tag == DtNull)
                    yield break;
                yield return (tag, U64(bytes, o + 8));
            }
        }

        /// <summary>DT_NEEDED names, in order.</summary>
        public List<string> ReadNeededLibraries()
        {
            var result = new List<string>();
            var dynamic = DynamicSection();
            if (dynamic == null)
                return result;
            var strtab = StringTableOf(dynamic);
            foreach (var (tag, value) in DynamicEntries(dynamic))
                if (tag == DtNeeded)
                    result.Add(ReadString(strtab, value, "DT_NEEDED"));
            return result;
        }

        /// <summary>
        /// The loader reads version needs through DT_VERNEED (a virtual address in PT_DYNAMIC), not through the section table.
        /// Checks both agree: the .dynamic section is the PT_DYNAMIC segment, DT_VERNEED is the section's address, a PT_LOAD maps
        /// that address to the section's file offset, and DT_VERNEEDNUM is its entry count. So the bytes patched are the bytes loaded.
        /// </summary>
        public void VerifyVersionNeedsMatchDynamicSegment()
        {
            var section = SectionOfType(ShtGnuVerneed);
            if (section == null)
                return;
            var dynamic = DynamicSection() ?? throw Fail(ElfProblem.DynamicMismatch, "has .gnu.version_r but no .dynamic section");
            if (!_segments.Any(p => p.Type == PtDynamic && p.Offset == dynamic.Offset))
                throw Fail(ElfProblem.DynamicMismatch, $"no PT_DYNAMIC segment at the .dynamic section's offset 0x{dynamic.Offset:x}");
            ulong? verneed = null, verneedNum = null;
            foreach (var (tag, value) in DynamicEntries(dynamic))
            {
                if (tag == DtVerneed)
                    verneed = value;
                else if (tag == DtVerneedNum)
                    verneedNum = value;
            }
            if (verneed != section.Addr)
                throw Fail(ElfProblem.DynamicMismatch, $"DT_VERNEED 0x{verneed ?? 0:x} differs from the address of {section.Name} (0x{section.Addr:x})");
            if (verneedNum != section.Info)
                throw Fail(ElfProblem.DynamicMismatch, $"DT_VERNEEDNUM {verneedNum ?? 0} differs from the entry count of {section.Name} ({section.Info})");
            var load = _segments.Where(p => p.Type == PtLoad && p.Vaddr <= section.Addr && section.Addr - p.Vaddr < p.FileSize).ToList();
            if (load.Count != 1 || load[0].Offset + (section.Addr - load[0].Vaddr) != section.Offset
                || section.Size > load[0].FileSize - (section.Addr - load[0].Vaddr))
                throw Fail(ElfProblem.DynamicMismatch, $"no single PT_LOAD segment maps {section.Name} (address 0x{section.Addr:x}) to its file offset 0x{section.Offset:x}");
        }

        /// <summary>Dynamic symbols whose .gnu.version index (hidden bit masked off) is <paramref name="versionIndex"/>.</summary>
        public List<DynamicSymbol> SymbolsBoundToVersion(ushort versionIndex)
        {
            var result = new List<DynamicSymbol>();
            var versym = SectionOfType(ShtGnuVersym);
            if (versym == null)
                return result;
            var dynsym = _sections[(int)versym.Link];
            if (dynsym.Type != ShtDynsym)
                throw Fail(ElfProblem.BadVersionStructure, $"{versym.Name} links to section {versym.Link} ({dynsym.Name}), which is not the dynamic symbol table");
            if (dynsym.EntSize != 24 || dynsym.Size % 24 != 0)
                throw Fail(ElfProblem.BadEntrySize, $"{dynsym.Name} entry size {dynsym.EntSize} / size {dynsym.Size}; expected 24-byte entries");
            ulong count = dynsym.Size / 24;
            if (versym.Size != count * 2)
                throw Fail(ElfProblem.BadVersionStructure, $"{versym.Name} has {versym.Size / 2} entries for {count} dynamic symbols");
            var strtab = StringTableOf(dynsym);
            var versions = Read(versym.Offset, versym.Size, versym.Name);
            byte[]? symbols = null;
            for (int i = 0; i < (int)count; i++)
            {
                if ((U16(versions, i * 2) & 0x7fff) != versionIndex)
                    continue;
                symbols ??= Read(dynsym.Offset, dynsym.Size, dynsym.Name);
                int o = i * 24;
                result.Add(new DynamicSymbol
                {
                    Index = i,
                    Name = ReadString(strtab, U32(symbols, o), $"name of dynamic symbol {i}"),
                    SectionIndex = U16(symbols, o + 6),
                });
            }
            return result;
        }

        /// <summary>How many relocations (REL/RELA sections over the dynamic symbol table) refer to any of these symbol indices.</summary>
        public int CountRelocationsAgainst(ICollection<int> symbolIndices)
        {
            if (symbolIndices.Count == 0)
                return 0;
            int hits = 0;
            foreach (var s in _sections)
            {
                if (s.Type != ShtRela && s.Type != ShtRel)
                    continue;
                if (_sections[(int)s.Link].Type != ShtDynsym)
                    continue;
                ulong size = s.Type == ShtRela ? 24UL : 16UL;
                if (s.EntSize != size || s.Size % size != 0)
                    throw Fail(ElfProblem.BadEntrySize, $"{s.Name} entry size {s.EntSize} / size {s.Size}; expected {size}-byte entries");
                var bytes = Read(s.Offset, s.Size, s.Name);
                for (int o = 0; o + (int)size <= bytes.Length; o += (int)size)
                    if (symbolIndices.Contains((int)(U64(bytes, o + 8) >> 32)))
                        hits++;
            }
            return hits;
        }
    }

    /// <summary>Finds the shared libraries the host's dynamic loader would use, the way ld.so does for x86-64.</summary>
    public sealed class HostLibraries
    {
        public static readonly string[] DefaultDirectories =
        {
            "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
        };

        readonly List<string> _searchPath;
        readonly Dictionary<string, string> _cache;
        readonly List<string> _defaults;
        readonly Dictionary<string, HashSet<string>> _definitions = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);

        public HostLibraries(IEnumerable<string> ldLibraryPath, string? ldSoCache, IEnumerable<string> defaultDirectories)
        {
            _searchPath = ldLibraryPath.Where(p => p.Length > 0).ToList();
            _cache = ldSoCache != null ? ReadLdSoCache(ldSoCache) : new Dictionary<string, string>(StringComparer.Ordinal);
            _defaults = defaultDirectories.ToList();
        }

        /// <summary>LD_LIBRARY_PATH, then /etc/ld.so.cache, then the default directories.</summary>
        public static HostLibraries FromEnvironment()
        {
            var ldLibraryPath = (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "").Split(new[] { ':', ';' }, StringSplitOptions.RemoveEmptyEntries);
            return new HostLibraries(ldLibraryPath, "/etc/ld.so.cache", DefaultDirectories);
        }

        /// <summary>Path of the x86-64 ELF64 library the loader would pick for <paramref name="soname"/>, or null.</summary>
        public string? Resolve(string soname)
        {
            foreach (var dir in _searchPath)
                if (IsUsable(Path.Combine(dir, soname)))
                    return Path.Combine(dir, soname);
            if (_cache.TryGetValue(soname, out var cached) && IsUsable(cached))
                return cached;
            foreach (var dir in _defaults)
                if (IsUsable(Path.Combine(dir, soname)))
                    return Path.Combine(dir, soname);
            return null;
        }

        /// <summary>The loader skips files of the wrong class or machine and keeps searching; so does this.</summary>
        static bool IsUsable(string path)
        {
            if (!File.Exists(path))
                return false;
            try
            {
                using (ElfImage.Open(path))
                    return true;
            }
            catch (ElfFormatException)
            {
                return false;
            }
            catch (IOException)
            {
                return false;
            }
            catch (UnauthorizedAccessException)
            {
                return false;
            }
        }

        /// <summary>The version names a library defines (.gnu.version_d), cached per path.</summary>
        public HashSet<string> DefinedVersions(string path)
        {
            if (!_definitions.TryGetValue(path, out var set))
            {
                using (var image = ElfImage.Open(path))
                    set = new HashSet<string>(image.ReadVersionDefinitions(), StringComparer.Ordinal);
                _definitions[path] = set;
            }
            return set;
        }

        /// <summary>
        /// Parses /etc/ld.so.cache (glibc "glibc-ld.so.cache1.1", optionally after the old "ld.so-1.7.0" table) into
        /// soname -> path for libc6 x86-64 entries. A missing or unreadable cache yields an empty map (ld.so then uses the
        /// default directories too).
        /// </summary>
        public static Dictionary<string, string> ReadLdSoCache(string path)
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            byte[] bytes;
            try
            {
                if (!File.Exists(path))
                    return map;
                bytes = File.ReadAllBytes(path);
            }
            catch (IOException)
            {
                return map;
            }
            catch (UnauthorizedAccessException)
            {
                return map;
            }
            const string oldMagic = "ld.so-1.7.0", newMagic = "glibc-ld.so.cache1.1";
            int start = 0;
            if (StartsWith(bytes, 0, oldMagic))
            {
                if (bytes.Length < 16)
                    return map;
                long oldCount = ElfImage.U32(bytes, 12);
                long afterOld = 16 + oldCount * 12;
                start = (int)Math.Min(bytes.Length, (afterOld + 7) & ~7L);
            }
            if (!StartsWith(bytes, start, newMagic) || bytes.Length - start < 48)
                return map;
            long count = ElfImage.U32(bytes, start + 20);
            const int flagElfLibc6 = 0x0003, flagX8664Lib64 = 0x0300;
            for (long i = 0; i < count; i++)
            {
                long o = start + 48 + i * 24;
                if (o + 24 > bytes.Length)
                    break;
                int flags = (int)ElfImage.U32(bytes, (int)o);
                if ((flags & 0xff) != flagElfLibc6 || (flags & 0xff00) != flagX8664Lib64)
                    continue;
                var key = CString(bytes, start + (long)ElfImage.U32(bytes, (int)o + 4));
                var value = CString(bytes, start + (long)ElfImage.U32(bytes, (int)o + 8));
                if (key != null && value != null && !map.ContainsKey(key))
                    map[key] = value;
            }
            return map;
        }

        static bool StartsWith(byte[] bytes, int at, string text)
        {
            if (bytes.Length - at < text.Length)
                return false;
            for (int i = 0; i < text.Length; i++)
                if (bytes[at + i] != (byte)text[i])
                    return false;
            return true;
        }

        static string? CString(byte[] bytes, long at)
        {
            if (at < 0 || at >= bytes.Length)
                return null;
            int end = Array.IndexOf(bytes, (byte)0, (int)at);
            return end < 0 ? null : Encoding.UTF8.GetString(bytes, (int)at, end - (int)at);
        }
    }

    /// <summary>A build diagnostic: TWN001... code and message.</summary>
    public sealed class PatchDiagnostic
    {
        public PatchDiagnostic(string code, string file, string message)
        {
            Code = code;
            File = file;
            Message = message;
        }

        public string Code { get; }
        public string File { get; }
        public string Message { get; }
        public override string ToString() => $"{Code}: {Message}";
    }

    /// <summary>What <see cref="LibTorchSharpPatcher.Analyze"/> found.</summary>
    public sealed class PatchPlan
    {
        public string Path = "";
        /// <summary>Vernaux entries to mark weak (file offsets into <see cref="Path"/>).</summary>
        public List<VersionNeed> ToWeaken = new List<VersionNeed>();
        /// <summary>The weakenable requirement is missing on the host but already weak in the file.</summary>
        public bool AlreadyWeak;
        public List<PatchDiagnostic> Errors = new List<PatchDiagnostic>();
        /// <summary>Libraries checked (the file and the DT_NEEDED closure inside its folder).</summary>
        public List<string> Checked = new List<string>();
        public string? HostLibStdCxx;
        public string? HostLibStdCxxHighest;
        /// <summary>Whether this host needs the weak flag at all (true when patched now or already weak).</summary>
        public bool HostNeedsWeakening => ToWeaken.Count > 0 || AlreadyWeak;
    }

    /// <summary>The pure logic of the build step, no MSBuild types: analyse, then patch through a temp file.</summary>
    public static class LibTorchSharpPatcher
    {
        public const string FileName = "libLibTorchSharp.so";
        public const string WeakenableFile = "libstdc++.so.6";
        public const string WeakenableVersion = "GLIBCXX_3.4.32";
        public const string WeakenableSymbol = "_ZSt21ios_base_library_initv";

        /// <summary>Errors.</summary>
        public const string MissingVersion = "TWN001", MalformedElf = "TWN002", NotWeakenable = "TWN003",
            LibraryNotFound = "TWN004", WriteFailed = "TWN005";

        const string Remedy = "Install a newer libstdc++/glibc runtime (e.g. libstdc++6 from a newer distribution release or conda-forge's libstdcxx-ng, " +
                              "put first on LD_LIBRARY_PATH), or build and run on a distribution with a GCC >= 13 runtime (Debian 13, Ubuntu 24.04, Fedora 38+). " +
                              "Set TorchwrightPatchLibTorchSharp=false to skip this check.";

        /// <summary>
        /// Checks <paramref name="path"/> and every library of its DT_NEEDED closure that lives in the same folder (that is what
        /// the loader will load from there: libtorch.so, libtorch_cpu.so, libc10.so, libgomp-*.so.1): each Vernaux requirement must
        /// be defined by the library its vn_file names (same folder first, else the host's). The only missing requirement that is
        /// tolerated is GLIBCXX_3.4.32 of libstdc++.so.6 in <paramref name="path"/> itself, and only when the sole symbol bound to it
        /// is the undefined, unrelocated <c>_ZSt21ios_base_library_initv</c>. Malformed ELF throws <see cref="ElfFormatException"/>.
        /// </summary>
        public static PatchPlan Analyze(string path, HostLibraries host)
        {
            var plan = new PatchPlan { Path = path };
            string folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) ?? ".";
            var queue = new Queue<string>();
            var visited = new HashSet<string>(StringComparer.Ordinal) { System.IO.Path.GetFileName(path) };
            queue.Enqueue(path);
            bool first = true;
            var localDefinitions = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);

            while (queue.Count > 0)
            {
                string library = queue.Dequeue();
                plan.Checked.Add(library);
                bool isTarget = first;
                first = false;
                using var image = ElfImage.Open(library);
                if (isTarget)
                    image.VerifyVersionNeedsMatchDynamicSegment();
                foreach (var needed in image.ReadNeededLibraries())
                {
                    string local = System.IO.Path.Combine(folder, needed);
                    if (visited.Add(needed) && File.Exists(local))
                        queue.Enqueue(local);
                }

                foreach (var need in image.ReadVersionNeeds())
                {
                    string local = System.IO.Path.Combine(folder, need.File);
                    string? provider = File.Exists(local) ? local : host.Resolve(need.File);
                    string libraryName = System.IO.Path.GetFileName(library);
                    if (provider == null)
                    {
                        if (!need.IsWeak)
                            plan.Errors.Add(new PatchDiagnostic(LibraryNotFound, library,
                                $"{libraryName} needs {need.File} (version {need.Version}), which the dynamic loader will not find on this host " +
                                $"(searched {folder}, LD_LIBRARY_PATH, /etc/ld.so.cache, {string.Join(", ", HostLibraries.DefaultDirectories)}). {Remedy}"));
                        continue;
                    }
                    HashSet<string> defined = provider == local ? LocalDefinitions(localDefinitions, local) : host.DefinedVersions(provider);
                    if (need.File == WeakenableFile)
                    {
                        plan.HostLibStdCxx = provider;
                        plan.HostLibStdCxxHighest = HighestGlibcxx(defined);
                    }
                    if (defined.Contains(need.Version))
                        continue;

                    bool weakenable = isTarget && need.File == WeakenableFile && need.Version == WeakenableVersion;
                    if (need.IsWeak)
                    {
                        if (weakenable)
                            plan.AlreadyWeak = true;
                        continue; // a weak requirement never stops the loader
                    }
                    if (!weakenable)
                    {
                        plan.Errors.Add(new PatchDiagnostic(MissingVersion, library,
                            $"{libraryName} requires version {need.Version} of {need.File}, but the host library the loader will use, {provider}, " +
                            $"does not define it{HighestNote(need.Version, defined)}; the library will fail to load. {Remedy}"));
                        continue;
                    }

                    var bound = image.SymbolsBoundToVersion(need.Index);
                    var foreign = bound.Where(s => s.Name != WeakenableSymbol || !s.IsUndefined).ToList();
                    int relocations = image.CountRelocationsAgainst(bound.Select(s => s.Index).ToList());
                    if (foreign.Count > 0 || relocations > 0)
                    {
                        string what = foreign.Count > 0
                            ? "symbols other than the undefined marker " + WeakenableSymbol + " are bound to it: " + string.Join(", ", foreign.Select(s => s.Name + (s.IsUndefined ? "" : " (defined)")).Take(10))
                            : $"{relocations} relocation(s) refer to {WeakenableSymbol}, so it is really used";
                        plan.Errors.Add(new PatchDiagnostic(NotWeakenable, library,
                            $"{libraryName} requires {WeakenableVersion} of {WeakenableFile}, which {provider} lacks (it has up to {HighestGlibcxx(defined) ?? "no GLIBCXX version"}), " +
                            $"and the requirement cannot be made weak safely: {what}. {Remedy}"));
                        continue;
                    }
                    plan.ToWeaken.Add(need);
                }
            }
            return plan;
        }

        static HashSet<string> LocalDefinitions(Dictionary<string, HashSet<string>> cache, string path)
        {
            if (!cache.TryGetValue(path, out var set))
            {
                using (var image = ElfImage.Open(path))
                    set = new HashSet<string>(image.ReadVersionDefinitions(), StringComparer.Ordinal);
                cache[path] = set;
            }
            return set;
        }

        /// <summary>" (it has up to CXXABI_1.3.13)": the highest defined version of the missing one's family.</summary>
        static string HighestNote(string version, HashSet<string> defined)
        {
            int underscore = version.LastIndexOf('_');
            if (underscore <= 0)
                return "";
            var highest = Highest(defined, version.Substring(0, underscore + 1));
            return highest == null ? "" : $" (it has up to {highest})";
        }

        /// <summary>The highest GLIBCXX_x.y.z a libstdc++ defines, compared numerically.</summary>
        public static string? HighestGlibcxx(IEnumerable<string> defined) => Highest(defined, "GLIBCXX_");

        static string? Highest(IEnumerable<string> defined, string prefix)
        {
            string? best = null;
            Version? bestVersion = null;
            foreach (var name in defined)
            {
                if (!name.StartsWith(prefix, StringComparison.Ordinal))
                    continue;
                var parts = name.Substring(prefix.Length).Split('.');
                if (parts.Length < 2 || parts.Length > 4 || !parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                    continue;
                var version = new Version(string.Join(".", parts.Concat(Enumerable.Repeat("0", 4 - parts.Length))));
                if (bestVersion == null || version > bestVersion)
                {
                    bestVersion = version;
                    best = name;
                }
            }
            return best;
        }

        /// <summary>
        /// Writes the weak flags of <paramref name="plan"/>: copies the file to a temp file in the same folder, sets the flag bits there,
        /// verifies the temp file differs from the original in exactly those bytes and now analyses clean, gives it the original's
        /// last-write time (so MSBuild's copy sees it as up to date and does not copy the unpatched package file over it again),
        /// then renames it over <see cref="PatchPlan.Path"/>. The rename replaces the directory entry: a hard link or symlink into the
        /// NuGet cache is broken, never written through. Returns the number of bytes changed.
        /// </summary>
        public static int Apply(PatchPlan plan, HostLibraries host)
        {
            if (plan.Errors.Count > 0)
                throw new InvalidOperationException("refusing to patch a file with errors: " + plan.Errors[0]);
            if (plan.ToWeaken.Count == 0)
                return 0;
            string path = plan.Path;
            string full = System.IO.Path.GetFullPath(path);
            string folder = System.IO.Path.GetDirectoryName(full) ?? ".";
            string temp = System.IO.Path.Combine(folder, "." + System.IO.Path.GetFileName(full) + ".torchwright-" + Guid.NewGuid().ToString("N") + ".tmp");
            DateTime lastWrite = File.GetLastWriteTimeUtc(full);
            try
            {
                File.Copy(full, temp, overwrite: false);
                var attributes = File.GetAttributes(temp);
                if ((attributes & FileAttributes.ReadOnly) != 0)
                    File.SetAttributes(temp, attributes & ~FileAttributes.ReadOnly);
                var expected = new Dictionary<long, (byte Low, byte High)>();
                using (var stream = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                {
                    foreach (var need in plan.ToWeaken)
                    {
                        var current = new byte[2];
                        stream.Seek(need.FlagsOffset, SeekOrigin.Begin);
                        if (stream.Read(current, 0, 2) != 2 || ElfImage.U16(current, 0) != need.Flags)
                            throw new IOException($"{path} changed while it was being patched (vna_flags at 0x{need.FlagsOffset:x})");
                        ushort flags = (ushort)(need.Flags | ElfImage.VerFlagWeak);
                        var patched = new[] { (byte)(flags & 0xff), (byte)(flags >> 8) };
                        stream.Seek(need.FlagsOffset, SeekOrigin.Begin);
                        stream.Write(patched, 0, 2);
                        if (current[0] != patched[0])
                            expected[need.FlagsOffset] = (current[0], patched[0]);
                        if (current[1] != patched[1])
                            expected[need.FlagsOffset + 1] = (current[1], patched[1]);
                    }
                    stream.Flush(true);
                }
                int changed = CountDifferences(full, temp, expected);
                var check = Analyze(temp, host);
                if (check.Errors.Count > 0 || check.ToWeaken.Count > 0 || !check.AlreadyWeak)
                    throw new IOException($"the patched copy of {path} did not verify: " + (check.Errors.FirstOrDefault()?.ToString() ?? "requirement still strong"));
                if ((attributes & FileAttributes.ReadOnly) != 0)
                    File.SetAttributes(temp, attributes);
                File.SetLastWriteTimeUtc(temp, lastWrite);
                File.Replace(temp, full, null); // rename(2): atomic, replaces the link itself
                return changed;
            }
            finally
            {
                if (File.Exists(temp))
                    File.Delete(temp);
            }
        }

        /// <summary>Compares two files of equal length; every differing byte must be one of <paramref name="expected"/>.</summary>
        static int CountDifferences(string original, string patched, Dictionary<long, (byte Low, byte High)> expected)
        {
            using var a = new FileStream(original, FileMode.Open, FileAccess.Read, FileShare.Read);
            using var b = new FileStream(patched, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (a.Length != b.Length)
                throw new IOException($"patched copy has length {b.Length}, original {a.Length}");
            var bufferA = new byte[1 << 16];
            var bufferB = new byte[1 << 16];
            long position = 0;
            int differences = 0;
            while (true)
            {
                int n = a.Read(bufferA, 0, bufferA.Length);
                if (n == 0)
                    break;
                int m = 0;
                while (m < n)
                {
                    int r = b.Read(bufferB, m, n - m);
                    if (r <= 0)
                        throw new IOException("patched copy is shorter than the original");
                    m += r;
                }
                for (int i = 0; i < n; i++)
                {
                    if (bufferA[i] == bufferB[i])
                        continue;
                    if (!expected.TryGetValue(position + i, out var e) || e.Low != bufferA[i] || e.High != bufferB[i])
                        throw new IOException($"patched copy differs from the original at unexpected offset 0x{position + i:x}");
                    differences++;
                }
                position += n;
            }
            if (differences != expected.Count)
                throw new IOException($"patched copy differs in {differences} bytes; expected {expected.Count}");
            return differences;
        }

        /// <summary>
        /// TorchSharp's fallback loader copies the (unpatched) natives from the NuGet cache into cpu/ or cuda-*/ beside TorchSharp.dll
        /// when its first load fails. Such a folder cannot load on a host that needs the weak flag, so it is deleted; only folders that
        /// contain libLibTorchSharp.so (which only TorchSharp creates there) are touched. Returns the deleted folders.
        /// </summary>
        public static List<string> DeleteStaleConsolidatedNatives(string root)
        {
            var deleted = new List<string>();
            if (!Directory.Exists(root))
                return deleted;
            foreach (var dir in Directory.GetDirectories(root, "cpu").Concat(Directory.GetDirectories(root, "cuda-*")))
            {
                if (!File.Exists(System.IO.Path.Combine(dir, FileName)))
                    continue;
                if ((File.GetAttributes(dir) & FileAttributes.ReparsePoint) != 0)
                    File.Delete(dir); // a symlink: remove the link only
                else
                    Directory.Delete(dir, recursive: true);
                deleted.Add(dir);
            }
            return deleted;
        }
    }

#if !TORCHWRIGHT_ELF_ONLY
    /// <summary>MSBuild task over <see cref="LibTorchSharpPatcher"/>; see build/Torchwright.Runtime.targets.</summary>
    public sealed class TorchwrightPatchLibTorchSharp : Microsoft.Build.Utilities.Task
    {
        /// <summary>Output copies of libLibTorchSharp.so (in OutDir or PublishDir).</summary>
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        /// <summary>Folders holding TorchSharp.dll, where TorchSharp's fallback loader would create cpu/ and cuda-*/.</summary>
        public Microsoft.Build.Framework.ITaskItem[] ConsolidationRoots { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        [Microsoft.Build.Framework.Output]
        public Microsoft.Build.Framework.ITaskItem[] PatchedFiles { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        public override bool Execute()
        {
            var host = HostLibraries.FromEnvironment();
            var patched = new List<Microsoft.Build.Framework.ITaskItem>();
            bool needsWeakening = false;
            foreach (var item in Files)
            {
                string path = item.GetMetadata("FullPath");
                if (!File.Exists(path))
                {
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, $"Torchwright: {path} does not exist; nothing to patch.");
                    continue;
                }
                try
                {
                    var plan = LibTorchSharpPatcher.Analyze(path, host);
                    foreach (var error in plan.Errors)
                        Log.LogError(null, error.Code, null, error.File, 0, 0, 0, 0, "Torchwright: " + error.Message);
                    if (plan.Errors.Count > 0)
                        continue;
                    needsWeakening |= plan.HostNeedsWeakening;
                    string highest = plan.HostLibStdCxxHighest ?? "no GLIBCXX version";
                    if (plan.ToWeaken.Count > 0)
                    {
                        LibTorchSharpPatcher.Apply(plan, host);
                        patched.Add(new Microsoft.Build.Utilities.TaskItem(path));
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal,
                            $"Torchwright: marked {LibTorchSharpPatcher.WeakenableVersion} of {LibTorchSharpPatcher.FileName} weak (host libstdc++ has up to {highest}) -> {path}");
                    }
                    else if (plan.AlreadyWeak)
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low,
                            $"Torchwright: {path} already has {LibTorchSharpPatcher.WeakenableVersion} marked weak; nothing to do.");
                    else
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low,
                            $"Torchwright: host libstdc++ ({plan.HostLibStdCxx ?? "not needed"}, up to {highest}) satisfies every version {LibTorchSharpPatcher.FileName} needs; {path} left as is.");
                }
                catch (ElfFormatException e)
                {
                    Log.LogError(null, LibTorchSharpPatcher.MalformedElf, null, e.Path, 0, 0, 0, 0,
                        $"Torchwright: {e.Path} is not an ELF file this step can verify ({e.Detail}); it was left untouched. " +
                        "Restore the TorchSharp package again (delete it from the NuGet cache) or set TorchwrightPatchLibTorchSharp=false.");
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    Log.LogError(null, LibTorchSharpPatcher.WriteFailed, null, path, 0, 0, 0, 0,
                        $"Torchwright: could not patch {path}: {e.Message}. The file was left as it was.");
                }
            }
            if (needsWeakening && !Log.HasLoggedErrors)
            {
                foreach (var root in ConsolidationRoots)
                {
                    try
                    {
                        foreach (var dir in LibTorchSharpPatcher.DeleteStaleConsolidatedNatives(root.GetMetadata("FullPath")))
                            Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal,
                                $"Torchwright: deleted {dir}, TorchSharp's copy of the unpatched natives (it cannot load on this host).");
                    }
                    catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                    {
                        Log.LogError(null, LibTorchSharpPatcher.WriteFailed, null, root.ItemSpec, 0, 0, 0, 0,
                            $"Torchwright: could not delete TorchSharp's stale native copies under {root.ItemSpec}: {e.Message}. Delete its cpu/ folder by hand.");
                    }
                }
            }
            PatchedFiles = patched.ToArray();
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
