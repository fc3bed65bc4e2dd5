using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Weights
{
    /// <summary>What a tensor file holds, told by its first bytes (never by its extension).</summary>
    public enum TensorFileFormat
    {
        /// <summary>Neither of the formats below.</summary>
        Unknown,

        /// <summary>safetensors: an 8-byte little-endian header length, then a JSON header starting with '{'.</summary>
        Safetensors,

        /// <summary><c>torch.save</c>'s zip format (PyTorch 1.6 and later; what torchvision and timm checkpoints are).</summary>
        TorchZip,

        /// <summary><c>torch.save(..., _use_new_zipfile_serialization=False)</c>: a bare pickle stream (not readable here).</summary>
        TorchLegacy,
    }

    /// <summary>The tensors of one file, by name, with where they came from. Disposing it disposes the tensors.</summary>
    public sealed class TensorFile : IDisposable
    {
        internal TensorFile(string path, TensorFileFormat format, Dictionary<string, Tensor> tensors, string? wrapper, IReadOnlyList<string>? otherStateDicts = null)
        {
            Path = path;
            Format = format;
            Tensors = tensors;
            Wrapper = wrapper;
            OtherStateDicts = otherStateDicts ?? Array.Empty<string>();
        }

        /// <summary>The file as named by the caller.</summary>
        public string Path { get; }

        public TensorFileFormat Format { get; }

        /// <summary>Name -> tensor (on the CPU, in the file's dtype).</summary>
        public Dictionary<string, Tensor> Tensors { get; }

        /// <summary>
        /// The entry of a torch.save'd dict the tensors were taken from (<c>"state_dict"</c> or <c>"model"</c>, as
        /// training scripts nest them: <c>{'state_dict': {...}, 'epoch': 90, ...}</c>); null when the file is the state dict.
        /// </summary>
        public string? Wrapper { get; }

        /// <summary>The other entries of the torch.save'd dict that hold a state dict (<c>"state_dict_ema"</c>, ...), sorted;
        /// <see cref="TensorFiles.Read(string, string?)"/> takes one of them by name.</summary>
        public IReadOnlyList<string> OtherStateDicts { get; }

        public void Dispose()
        {
            foreach (var t in Tensors.Values) t.Dispose();
            Tensors.Clear();
        }
    }

    /// <summary>
    /// Every tensor file the project reads or writes goes through here, and through TorchSharp.PyBridge
    /// (https://github.com/shaltielshmid/TorchSharp.PyBridge) for the tensor data:
    /// <list type="bullet">
    /// <item>reading: safetensors (<c>Safetensors.LoadStateDict</c>) and PyTorch <c>torch.save</c> zip files
    /// (<c>PyTorchUnpickler.UnpickleStateDict</c>), picked by content;</item>
    /// <item>writing: safetensors (<c>Safetensors.SaveStateDict</c> writes the tensors; this class then rewrites its
    /// header, because PyBridge 1.4.4 cannot write <c>__metadata__</c>, does not pad the header to 8 bytes and its
    /// path overload does not truncate an existing longer file).</item>
    /// </list>
    /// docs/weights.md says what is and is not readable and why.
    /// </summary>
    public static class TensorFiles
    {
        /// <summary>Largest safetensors header accepted (the reference implementation uses 100 MB).</summary>
        public const long MaxHeaderBytes = 100L * 1024 * 1024;

        private const string PyBridge = "TorchSharp.PyBridge 1.4.4";

        /// <summary>The format of the file by its first bytes.</summary>
        public static TensorFileFormat Detect(string path)
        {
            using var fs = OpenRead(path);
            return Detect(fs);
        }

        private static TensorFileFormat Detect(FileStream fs)
        {
            Span<byte> head = stackalloc byte[9];
            int n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            fs.Position = 0;
            if (n >= 4 && head[0] == 0x50 && head[1] == 0x4B && head[2] == 0x03 && head[3] == 0x04)
                return TensorFileFormat.TorchZip;
            // Legacy torch.save starts with pickle protocol 2 and a 10-byte LONG1, its magic number 0x1950a86a20f9469cfc6c.
            if (n >= 4 && head[0] == 0x80 && head[1] == 0x02 && head[2] == 0x8A && head[3] == 0x0A)
                return TensorFileFormat.TorchLegacy;
            if (n == head.Length)
            {
                ulong length = BitConverter.ToUInt64(head.Slice(0, 8));
                if (length >= 2 && length <= MaxHeaderBytes && 8 + (long)length <= fs.Length && head[8] == (byte)'{')
                    return TensorFileFormat.Safetensors;
            }
            return TensorFileFormat.Unknown;
        }

        /// <summary>Reads every tensor of a safetensors or torch.save file (see <see cref="Read(string)"/>).</summary>
        public static Dictionary<string, Tensor> Load(string path)
        {
            var file = Read(path);
            return file.Tensors;
        }

        /// <summary>
        /// Reads every tensor of a safetensors file or of a PyTorch <c>torch.save</c> zip file holding a dict of tensors
        /// (a state dict), or a dict whose <c>"state_dict"</c> or <c>"model"</c> entry is one (the other entries —
        /// epoch, optimizer state, EMA weights, arguments — are dropped). Any problem throws <see cref="InvalidDataException"/>
        /// (or <see cref="IOException"/> for a directory, a FIFO or device, or an unreadable file) with a one-line message naming the file.
        /// </summary>
        public static TensorFile Read(string path) => Read(path, entry: null);

        /// <summary>
        /// As <see cref="Read(string)"/>, taking the state dict from the torch.save'd dict's entry <paramref name="entry"/>
        /// (<c>"state_dict_ema"</c>, ...) when it is not null; a file without such an entry throws, naming the entries that
        /// hold a state dict.
        /// </summary>
        public static TensorFile Read(string path, string? entry)
        {
            var read = ReadAny(path, entry);
            if (read is TensorFile file) return file;
            ((Tensor)read).Dispose();
            throw new InvalidDataException(
                $"'{path}' holds a single tensor (torch.save(tensor)), not a state dict; save a dict of tensors by name: torch.save(model.state_dict(), path).");
        }

        /// <summary>
        /// The tensor named <paramref name="name"/> of a safetensors or torch.save file, or the file's only tensor when
        /// torch.save wrote a bare tensor (<c>torch.save(x)</c>); the file's other tensors are disposed. A file without it
        /// throws <see cref="InvalidDataException"/> listing the names it has.
        /// </summary>
        public static Tensor ReadTensor(string path, string name)
        {
            if (name is null) throw new ArgumentNullException(nameof(name));
            var read = ReadAny(path, entry: null);
            if (read is Tensor bare) return bare;
            using var file = (TensorFile)read;
            if (file.Tensors.Remove(name, out var found)) return found;
            throw new InvalidDataException($"'{path}' has no tensor named '{name}' (it has: {string.Join(", ", file.Tensors.Keys.OrderBy(k => k, StringComparer.Ordinal))}).");
        }

        /// <summary>A <see cref="TensorFile"/>, or the <see cref="Tensor"/> a torch.save file holds bare.</summary>
        private static object ReadAny(string path, string? entry)
        {
            if (path is null) throw new ArgumentNullException(nameof(path));
            using var fs = OpenRead(path);
            var format = Detect(fs);
            switch (format)
            {
                case TensorFileFormat.Safetensors:
                {
                    if (entry != null)
                        throw new InvalidDataException($"'{path}' is a safetensors file, a flat state dict with no entry '{entry}' to choose.");
                    CheckSafetensorsHeader(path, fs);
                    Dictionary<string, Tensor> tensors;
                    try
                    {
                        tensors = Safetensors.LoadStateDict(fs, leaveOpen: true);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        throw new InvalidDataException($"'{path}' is not a readable safetensors file: {FirstLine(e.Message)} ({PyBridge}).", e);
                    }
                    return new TensorFile(path, format, new Dictionary<string, Tensor>(tensors, StringComparer.Ordinal), null);
                }
                case TensorFileFormat.TorchZip:
                {
                    var root = Unpickle(path, fs);
                    if (root is Tensor bare) return bare;
                    if (root is not Hashtable dict)
                    {
                        DisposeTensors(root, keep: null);
                        throw new InvalidDataException($"'{path}' holds a {PythonType(root)}, not a dict of tensors; save the state dict itself: torch.save(model.state_dict(), path).");
                    }
                    var tensors = StateDictOf(path, dict, entry, out var wrapper, out var others);
                    return new TensorFile(path, format, tensors, wrapper, others);
                }
                default:
                    throw NotATensorFile(path, fs, format);
            }
        }

        private static Exception NotATensorFile(string path, FileStream fs, TensorFileFormat format) => format == TensorFileFormat.TorchLegacy
            ? new InvalidDataException(
                $"'{path}' was written by torch.save's legacy format (_use_new_zipfile_serialization=False, or PyTorch before 1.6), " +
                $"which {PyBridge} does not read; re-save it in PyTorch: torch.save(torch.load(path), new_path), or as safetensors.")
            : new InvalidDataException(
                $"'{path}' is neither a safetensors file nor a PyTorch torch.save zip file (it starts with {Hex(fs)}).");

        /// <summary>The object a torch.save zip file holds: a dict (Hashtable), a bare tensor, or anything else pickled.</summary>
        private static object? Unpickle(string path, FileStream fs)
        {
            try
            {
                try
                {
                    return PyTorchUnpickler.UnpickleStateDict(fs, leaveOpen: true);
                }
                catch (InvalidCastException)
                {
                    // PyBridge casts what it unpickled to a dict. Anything else (a bare tensor) is read again with its
                    // pickle wrapped in a one-entry dict, so the cast holds and the object comes back as it was.
                    fs.Position = 0;
                    using var wrapped = WrapRootInDict(fs);
                    return PyTorchUnpickler.UnpickleStateDict(wrapped, leaveOpen: true)[RootKey];
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new InvalidDataException($"'{path}' is a torch.save zip file that {PyBridge} cannot read: {ExplainUnpickle(e)}", e);
            }
        }

        private const string RootKey = "root";

        /// <summary>
        /// A copy of the torch.save zip whose data.pkl unpickles to <c>{"root": what the file holds}</c>: the pickle's
        /// opcodes are kept between EMPTY_DICT + BINUNICODE "root" before and SETITEM + STOP after (no memo entry is added,
        /// so the original's memo references still hold). Entries keep their names; tensor data is copied as it is.
        /// </summary>
        private static MemoryStream WrapRootInDict(FileStream fs)
        {
            var copy = new MemoryStream();
            using (var source = new ZipArchive(fs, ZipArchiveMode.Read, leaveOpen: true))
            using (var target = new ZipArchive(copy, ZipArchiveMode.Create, leaveOpen: true))
            {
                foreach (var e in source.Entries)
                {
                    using var input = e.Open();
                    var output = target.CreateEntry(e.FullName, CompressionLevel.NoCompression);
                    using var o = output.Open();
                    if (!e.Name.EndsWith("data.pkl", StringComparison.Ordinal))
                    {
                        input.CopyTo(o);
                        continue;
                    }
                    using var pickle = new MemoryStream();
                    input.CopyTo(pickle);
                    var bytes = pickle.ToArray();
                    int start = bytes.Length >= 2 && bytes[0] == 0x80 ? 2 : 0;           // PROTO n
                    int end = bytes.Length > start && bytes[^1] == (byte)'.' ? bytes.Length - 1 : bytes.Length; // STOP
                    o.Write(bytes, 0, start);
                    o.WriteByte((byte)'}');                                               // EMPTY_DICT
                    o.WriteByte((byte)'X');                                               // BINUNICODE "root"
                    o.Write(BitConverter.GetBytes(RootKey.Length));
                    o.Write(Encoding.ASCII.GetBytes(RootKey));
                    o.Write(bytes, start, end - start);
                    o.WriteByte((byte)'s');                                               // SETITEM
                    o.WriteByte((byte)'.');                                               // STOP
                }
            }
            copy.Position = 0;
            return copy;
        }

        /// <summary>The <c>__metadata__</c> map of a safetensors file (empty when it has none).</summary>
        public static Dictionary<string, string> ReadMetadata(string path)
        {
            using var fs = OpenRead(path);
            if (Detect(fs) != TensorFileFormat.Safetensors)
                throw new InvalidDataException($"'{path}' is not a safetensors file.");
            var header = ReadHeader(fs);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            try
            {
                using var doc = JsonDocument.Parse(header);
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("__metadata__", out var m) && m.ValueKind == JsonValueKind.Object)
                    foreach (var p in m.EnumerateObject())
                        metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"'{path}': the safetensors header is not valid JSON ({e.Message}).", e);
            }
            return metadata;
        }

        /// <summary>
        /// Writes the tensors (moved to the CPU, made contiguous) as safetensors, sorted by name, with an optional
        /// <c>__metadata__</c> map; the header is padded so the data starts 8-byte aligned, and the file is replaced atomically (written to a
        /// temporary file, flushed to disk, renamed).
        /// </summary>
        public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
        {
            if (path is null) throw new ArgumentNullException(nameof(path));
            if (tensors is null) throw new ArgumentNullException(nameof(tensors));
            if (tensors.ContainsKey("__metadata__"))
                throw new ArgumentException("safetensors: '__metadata__' is reserved and cannot name a tensor.", nameof(tensors));

            using var scope = torch.NewDisposeScope();
            var ordered = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var name in tensors.Keys.OrderBy(k => k, StringComparer.Ordinal))
                ordered[name] = tensors[name].detach().cpu().contiguous();

            var full = System.IO.Path.GetFullPath(path);
            var dir = System.IO.Path.GetDirectoryName(full);
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            var tmp = full + ".tmp";
            using (var body = new FileStream(full + ".pybridge.tmp", FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20, FileOptions.DeleteOnClose))
            {
                Safetensors.SaveStateDict(body, ordered, leaveOpen: true);
                body.Position = 0;
                var header = RewriteHeader(ReadHeader(body), metadata);
                using var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
                fs.Write(BitConverter.GetBytes((ulong)header.Length));
                fs.Write(header);
                body.CopyTo(fs);
                // On disk before the rename, so a crash leaves the old file or the whole new one.
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }

        /// <summary>PyBridge's header with <c>__metadata__</c> first, padded with spaces to a multiple of 8 bytes.</summary>
        private static byte[] RewriteHeader(byte[] pybridgeHeader, IReadOnlyDictionary<string, string>? metadata)
        {
            var entries = JsonNode.Parse(pybridgeHeader)!.AsObject();
            var header = new JsonObject();
            if (metadata is not null && metadata.Count > 0)
            {
                var m = new JsonObject();
                foreach (var kv in metadata.OrderBy(k => k.Key, StringComparer.Ordinal))
                    m[kv.Key] = kv.Value;
                header["__metadata__"] = m;
            }
            foreach (var kv in entries)
                header[kv.Key] = kv.Value?.DeepClone();
            var json = header.ToJsonString(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            int pad = (8 - Encoding.UTF8.GetByteCount(json) % 8) % 8;
            return Encoding.UTF8.GetBytes(json + new string(' ', pad));
        }

        /// <summary>Bytes per element of every safetensors dtype PyBridge 1.4.4 reads.</summary>
        private static readonly Dictionary<string, int> SafetensorsDTypes = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["F64"] = 8, ["F32"] = 4, ["F16"] = 2, ["BF16"] = 2, ["I64"] = 8, ["I32"] = 4, ["I16"] = 2, ["I8"] = 1, ["U8"] = 1, ["BOOL"] = 1,
        };

        /// <summary>
        /// The header checks PyBridge leaves to chance (it reads the JSON with a lenient parser and trusts the numbers):
        /// strict UTF-8, no duplicate names, a known dtype, a shape of non-negative integers whose byte size fits, data
        /// offsets that are integers, in order, inside the file and exactly that size, and at most 2 GiB per tensor
        /// (PyBridge reads a tensor into one array). Each failure is one line naming the file, the tensor and the field.
        /// Leaves the stream at 0.
        /// </summary>
        private static void CheckSafetensorsHeader(string path, FileStream fs)
        {
            fs.Position = 0;
            var header = ReadHeader(fs);
            long dataBytes = fs.Length - 8 - header.Length;
            fs.Position = 0;
            string Bad(string what) => $"'{path}' is not a valid safetensors file: {what}; re-save it (safetensors.torch.save_file, or torchwright).";
            string json;
            try
            {
                json = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(header);
            }
            catch (DecoderFallbackException e)
            {
                throw new InvalidDataException(Bad($"its header is not valid UTF-8 (byte {e.Index} of the header)"), e);
            }
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(json);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException(Bad($"its header is not valid JSON ({FirstLine(e.Message)})"), e);
            }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new InvalidDataException(Bad($"its header is a JSON {doc.RootElement.ValueKind}, not an object"));
                var names = new HashSet<string>(StringComparer.Ordinal);
                var spans = new List<(long Begin, long End, string Name)>();
                foreach (var entry in doc.RootElement.EnumerateObject())
                {
                    var name = entry.Name;
                    if (!names.Add(name))
                        throw new InvalidDataException(Bad($"tensor '{name}' is declared twice in the header"));
                    if (name == "__metadata__") continue;
                    var t = entry.Value;
                    if (t.ValueKind != JsonValueKind.Object)
                        throw new InvalidDataException(Bad($"tensor '{name}' is a JSON {t.ValueKind}, not an object with dtype, shape and data_offsets"));
                    var fields = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var f in t.EnumerateObject())
                        if (!fields.Add(f.Name))
                            throw new InvalidDataException(Bad($"tensor '{name}' has its '{f.Name}' twice"));
                    if (!t.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String || !SafetensorsDTypes.TryGetValue(dtype.GetString()!, out int itemSize))
                        throw new InvalidDataException(Bad($"tensor '{name}' has dtype {(t.TryGetProperty("dtype", out var d) ? d.GetRawText() : "(absent)")}; readable: {string.Join(", ", SafetensorsDTypes.Keys)}"));
                    var shape = Integers(t, "shape", name, Bad);
                    var offsets = Integers(t, "data_offsets", name, Bad);
                    if (offsets.Count != 2)
                        throw new InvalidDataException(Bad($"tensor '{name}' has {offsets.Count} data_offsets, not 2 (begin, end)"));
                    long bytes = itemSize;
                    foreach (var n in shape)
                        if (n != 0 && bytes > long.MaxValue / n)
                            throw new InvalidDataException(Bad($"tensor '{name}' has shape [{string.Join(", ", shape)}], whose size overflows 64 bits"));
                        else
                            bytes *= n;
                    long begin = offsets[0], end = offsets[1];
                    if (begin > end || end > dataBytes)
                        throw new InvalidDataException(Bad($"tensor '{name}' has data_offsets [{begin}, {end}] outside the {dataBytes} data bytes of the file (truncated?)"));
                    if (end - begin != bytes)
                        throw new InvalidDataException(Bad($"tensor '{name}' has data_offsets [{begin}, {end}] ({end - begin} bytes) but {dtype.GetString()} shape [{string.Join(", ", shape)}] takes {bytes} bytes"));
                    if (bytes > int.MaxValue)
                        throw new InvalidDataException(Bad($"tensor '{name}' takes {bytes} bytes, over the 2 GiB per tensor that {PyBridge} reads; split it or load it in PyTorch"));
                    spans.Add((begin, end, name));
                }
                spans.Sort((a, b) => a.Begin.CompareTo(b.Begin));
                for (int i = 1; i < spans.Count; i++)
                    if (spans[i].Begin < spans[i - 1].End)
                        throw new InvalidDataException(Bad($"tensors '{spans[i - 1].Name}' and '{spans[i].Name}' overlap in the data"));
            }
        }

        private static List<long> Integers(JsonElement tensor, string field, string name, Func<string, string> bad)
        {
            if (!tensor.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException(bad($"tensor '{name}' has no '{field}' array"));
            var values = new List<long>();
            foreach (var v in array.EnumerateArray())
            {
                if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long n) || n < 0)
                    throw new InvalidDataException(bad($"tensor '{name}' has {field} {Truncated(array.GetRawText(), 80)}: {Truncated(v.GetRawText(), 40)} is not a non-negative 64-bit integer"));
                values.Add(n);
            }
            return values;
        }

        private static string Truncated(string s, int max) => s.Length <= max ? s : s.Substring(0, max) + "...";

        private static byte[] ReadHeader(Stream s)
        {
            Span<byte> len = stackalloc byte[8];
            s.ReadExactly(len);
            ulong n = BitConverter.ToUInt64(len);
            if (n > MaxHeaderBytes) throw new InvalidDataException($"safetensors header length {n} is over {MaxHeaderBytes} bytes.");
            var buf = new byte[n];
            s.ReadExactly(buf);
            return buf;
        }

        /// <summary>The flat name -> tensor map of an unpickled torch.save dict, taken from a wrapper entry if need be
        /// (<paramref name="entry"/> when given); every tensor the result does not hold is disposed.</summary>
        private static Dictionary<string, Tensor> StateDictOf(string path, Hashtable root, string? entry, out string? wrapper, out IReadOnlyList<string> others)
        {
            wrapper = null;
            var stateDicts = root.Keys.OfType<string>()
                .Where(k => root[k] is IDictionary inner && inner.Count > 0 && IsTensorDict(inner))
                .OrderBy(k => k, StringComparer.Ordinal).ToList();
            IDictionary? chosen = null;
            string? problem = null;
            if (IsTensorDict(root))
            {
                if (entry == null) chosen = root;
                else problem = $"'{path}' is a state dict itself (a dict of tensors by name), with no entry '{entry}' to choose.";
            }
            else if (entry != null)
            {
                if (stateDicts.Contains(entry)) { chosen = (IDictionary)root[entry]!; wrapper = entry; }
                else problem = $"'{path}' has no entry '{entry}' holding a state dict; " +
                    (stateDicts.Count > 0 ? $"the entries that hold one: {string.Join(", ", stateDicts)}." : "no entry holds one.");
            }
            else
                foreach (var key in new[] { "state_dict", "model" })
                    if (stateDicts.Contains(key))
                    {
                        chosen = (IDictionary)root[key]!;
                        wrapper = key;
                        break;
                    }

            if (chosen is null)
            {
                var other = root.Keys.Cast<object>()
                    .Where(k => root[k] is not Tensor)
                    .Select(k => $"{k}: {PythonType(root[k])}")
                    .OrderBy(s => s, StringComparer.Ordinal).ToList();
                DisposeTensors(root, keep: null);
                throw new InvalidDataException(problem ??
                    $"'{path}' holds a dict with non-tensor entries ({string.Join(", ", other.Take(10))}{(other.Count > 10 ? $", ... {other.Count - 10} more" : "")}) " +
                    "and no 'state_dict' or 'model' entry that is a dict of tensors; save the state dict itself: torch.save(model.state_dict(), path).");
            }

            var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (DictionaryEntry e in chosen)
                result[(string)e.Key] = (Tensor)e.Value!;
            // Entries often share tensors (an EMA copy made with dict(sd) pickles the same objects): keep every tensor the
            // result holds, by reference, while disposing the rest.
            if (!ReferenceEquals(chosen, root)) DisposeTensors(root, keep: new HashSet<Tensor>(result.Values, ReferenceEqualityComparer.Instance));
            var chosenKey = wrapper;
            others = stateDicts.Where(k => k != chosenKey).ToList();
            return result;
        }

        private static bool IsTensorDict(IDictionary d)
        {
            foreach (DictionaryEntry e in d)
                if (e.Key is not string || e.Value is not Tensor)
                    return false;
            return true;
        }

        /// <summary>Disposes every tensor reachable from the unpickled object except those in <paramref name="keep"/>.</summary>
        private static void DisposeTensors(object? o, HashSet<Tensor>? keep)
        {
            switch (o)
            {
                case Tensor t:
                    if (keep is null || !keep.Contains(t)) t.Dispose();
                    break;
                case IDictionary d:
                    foreach (DictionaryEntry e in d) DisposeTensors(e.Value, keep);
                    break;
                case IList l:
                    foreach (var x in l) DisposeTensors(x, keep);
                    break;
            }
        }

        /// <summary>Python's name for what the unpickler (Razorvine.Pickle) made of a value.</summary>
        private static string PythonType(object? o) => o switch
        {
            null => "None",
            string => "str",
            int or long or System.Numerics.BigInteger => "int",
            double => "float",
            bool => "bool",
            object[] => "tuple",
            IList => "list",
            IDictionary<string, object> cd when cd.TryGetValue("__class__", out var c) => c?.ToString() ?? "object",
            IDictionary => "dict",
            _ => o.GetType().Name,
        };

        /// <summary>What PyBridge's unpickler failed on, in words, with the fix where there is one.</summary>
        private static string ExplainUnpickle(Exception e)
        {
            var m = FirstLine(e.Message);
            if (e is InvalidOperationException && m.Contains("non-contiguous", StringComparison.Ordinal))
                return "a tensor in it is not contiguous (channels_last, transposed or expanded), and PyBridge reads only contiguous tensors; " +
                       "re-save it with torch.save({k: v.contiguous().clone() for k, v in sd.items()}, path).";
            if (e is ExternalException && m.Contains("out of bounds for storage", StringComparison.Ordinal))
                return "a tensor in it is a view into a larger storage (a slice, or storage shared between tensors), and PyBridge reads " +
                       "each tensor as if it owned its storage; re-save it with torch.save({k: v.contiguous().clone() for k, v in sd.items()}, path).";
            return $"{m} ({e.GetType().Name}).";
        }

        private static FileStream OpenRead(string path)
        {
            // A directory cannot be opened; a FIFO would block until a writer comes and a device never ends.
            if (FileKinds.NonRegular(path) is string kind)
                throw new IOException($"'{path}' is {kind}, not a tensor file.");
            try
            {
                return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new IOException($"'{path}' cannot be read: {e.Message}", e);
            }
            catch (FileNotFoundException e)
            {
                throw new FileNotFoundException($"'{path}': no such file.", path, e);
            }
        }

        private static string Hex(FileStream fs)
        {
            var head = new byte[8];
            fs.Position = 0;
            int n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            return n == 0 ? "nothing: it is empty" : "bytes " + string.Join(" ", head.Take(n).Select(b => b.ToString("x2")));
        }

        internal static string FirstLine(string message)
        {
            int i = message.IndexOfAny(new[] { '\r', '\n' });
            return (i < 0 ? message : message.Substring(0, i)).TrimEnd('.', ' ');
        }
    }
}
