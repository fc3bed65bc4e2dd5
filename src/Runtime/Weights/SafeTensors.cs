using System;
using System.Collections.Generic;
using System.IO;
using System.IO.MemoryMappedFiles;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Weights
{
    /// <summary>
    /// Reader and writer for the safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
    /// header length, a UTF-8 JSON header <c>{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}</c>,
    /// then the raw little-endian tensor bytes.  Supported dtypes: F32, F16, BF16, I64 (plus F64, I32, I16, I8, U8, BOOL).
    /// Reading memory-maps the file and copies each tensor once, straight into the tensor's storage.
    /// </summary>
    public static class SafeTensors
    {
        /// <summary>Largest header accepted (the reference implementation uses 100 MB).</summary>
        public const long MaxHeaderBytes = 100L * 1024 * 1024;

        private static readonly (string Name, ScalarType Type, int Size)[] DTypes =
        {
            ("F32", ScalarType.Float32, 4),
            ("F16", ScalarType.Float16, 2),
            ("BF16", ScalarType.BFloat16, 2),
            ("I64", ScalarType.Int64, 8),
            ("F64", ScalarType.Float64, 8),
            ("I32", ScalarType.Int32, 4),
            ("I16", ScalarType.Int16, 2),
            ("I8", ScalarType.Int8, 1),
            ("U8", ScalarType.Byte, 1),
            ("BOOL", ScalarType.Bool, 1),
        };

        /// <summary>The safetensors dtype name of a torch scalar type.</summary>
        public static string DTypeName(ScalarType type)
        {
            foreach (var d in DTypes)
                if (d.Type == type)
                    return d.Name;
            throw new NotSupportedException($"safetensors: dtype {type} is not supported (supported: {string.Join(", ", DTypes.Select(d => d.Name))}).");
        }

        /// <summary>Reads every tensor of the file (on the CPU).</summary>
        public static Dictionary<string, Tensor> Load(string path) => Load(path, out _);

        /// <summary>Reads every tensor of the file and its <c>__metadata__</c> map (empty when absent).</summary>
        public static unsafe Dictionary<string, Tensor> Load(string path, out Dictionary<string, string> metadata)
        {
            if (path is null) throw new ArgumentNullException(nameof(path));
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("safetensors: big-endian hosts are not supported.");
            long fileLength = new FileInfo(path).Length;
            if (fileLength < 8)
                throw new InvalidDataException($"safetensors '{path}': file is {fileLength} bytes, shorter than the 8-byte header length.");

            using var mmf = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            using var view = mmf.CreateViewAccessor(0, fileLength, MemoryMappedFileAccess.Read);
            byte* basePtr = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
            var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            try
            {
                byte* start = basePtr + view.PointerOffset;
                long headerLength = BitConverter.ToInt64(new ReadOnlySpan<byte>(start, 8));
                if (headerLength <= 0 || headerLength > MaxHeaderBytes || 8 + headerLength > fileLength)
                    throw new InvalidDataException($"safetensors '{path}': header length {headerLength} is invalid for a {fileLength}-byte file.");
                var header = ParseHeader(path, new ReadOnlySpan<byte>(start + 8, (int)headerLength), out metadata);
                long dataStart = 8 + headerLength;
                long dataLength = fileLength - dataStart;
                foreach (var e in header)
                {
                    if (e.End > dataLength)
                        throw new InvalidDataException($"safetensors '{path}': tensor '{e.Name}' ends at byte {e.End} but the data section has {dataLength} bytes.");
                    long n = e.End - e.Begin;
                    if (n > int.MaxValue)
                        throw new NotSupportedException($"safetensors '{path}': tensor '{e.Name}' is {n} bytes; tensors over 2 GiB are not supported.");
                    result.Add(e.Name, FromBytes(new ReadOnlySpan<byte>(start + dataStart + e.Begin, (int)n), e.Type, e.Shape));
                }
                return result;
            }
            catch
            {
                foreach (var t in result.Values) t.Dispose();
                throw;
            }
            finally
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
            }
        }

        /// <summary>Reads only the header: names, dtypes and shapes (no tensor data).</summary>
        public static IReadOnlyList<(string Name, string DType, long[] Shape)> ReadHeader(string path, out Dictionary<string, string> metadata)
        {
            using var fs = File.OpenRead(path);
            var lenBytes = new byte[8];
            if (fs.Read(lenBytes, 0, 8) != 8)
                throw new InvalidDataException($"safetensors '{path}': file is shorter than the 8-byte header length.");
            long headerLength = BitConverter.ToInt64(lenBytes, 0);
            if (headerLength <= 0 || headerLength > MaxHeaderBytes || 8 + headerLength > fs.Length)
                throw new InvalidDataException($"safetensors '{path}': header length {headerLength} is invalid for a {fs.Length}-byte file.");
            var buf = new byte[headerLength];
            fs.ReadExactly(buf, 0, buf.Length);
            return ParseHeader(path, buf, out metadata).Select(e => (e.Name, DTypeName(e.Type), e.Shape)).ToList();
        }

        /// <summary>Writes the tensors (moved to the CPU, made contiguous) sorted by name, with optional metadata.</summary>
        public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
        {
            if (path is null) throw new ArgumentNullException(nameof(path));
            if (tensors is null) throw new ArgumentNullException(nameof(tensors));
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("safetensors: big-endian hosts are not supported.");
            var names = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
            using var scope = torch.NewDisposeScope();
            var cpu = new Tensor[names.Length];
            var header = new MemoryStream();
            using (var w = new Utf8JsonWriter(header))
            {
                w.WriteStartObject();
                if (metadata is not null && metadata.Count > 0)
                {
                    w.WriteStartObject("__metadata__");
                    foreach (var kv in metadata.OrderBy(k => k.Key, StringComparer.Ordinal))
                        w.WriteString(kv.Key, kv.Value);
                    w.WriteEndObject();
                }
                long offset = 0;
                for (int i = 0; i < names.Length; i++)
                {
                    if (names[i] == "__metadata__")
                        throw new ArgumentException("safetensors: '__metadata__' is reserved and cannot name a tensor.", nameof(tensors));
                    var t = tensors[names[i]].detach().cpu().contiguous();
                    cpu[i] = t;
                    long n = t.numel() * ElementSize(t.dtype);
                    w.WriteStartObject(names[i]);
                    w.WriteString("dtype", DTypeName(t.dtype));
                    w.WriteStartArray("shape");
                    foreach (var d in t.shape) w.WriteNumberValue(d);
                    w.WriteEndArray();
                    w.WriteStartArray("data_offsets");
                    w.WriteNumberValue(offset);
                    w.WriteNumberValue(offset + n);
                    w.WriteEndArray();
                    w.WriteEndObject();
                    offset += n;
                }
                w.WriteEndObject();
            }
            // Pad the header with spaces so the data section starts 8-byte aligned (as the reference writer does).
            int pad = (int)((8 - header.Length % 8) % 8);
            for (int i = 0; i < pad; i++) header.WriteByte((byte)' ');

            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            var tmp = path + ".tmp";
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                fs.Write(BitConverter.GetBytes(header.Length));
                header.Position = 0;
                header.CopyTo(fs);
                foreach (var t in cpu)
                    if (t.numel() > 0)
                        WriteData(fs, t);
            }
            File.Move(tmp, path, overwrite: true);
        }

        // Data movement uses only tensor(T[], shape, dtype) and data<T>() so it compiles against every TorchSharp
        // implementation.  (TorchSharp's Tensor.bytes would save one copy; SystemTorch does not provide it yet.)
        private static Tensor FromBytes(ReadOnlySpan<byte> src, ScalarType type, long[] shape)
        {
            switch (type)
            {
                case ScalarType.Float32:
                    return torch.tensor(MemoryMarshal.Cast<byte, float>(src).ToArray(), shape);
                case ScalarType.Float64:
                    return torch.tensor(MemoryMarshal.Cast<byte, double>(src).ToArray(), shape);
                case ScalarType.Int64:
                    return torch.tensor(MemoryMarshal.Cast<byte, long>(src).ToArray(), shape);
                case ScalarType.Int32:
                    return torch.tensor(MemoryMarshal.Cast<byte, int>(src).ToArray(), shape);
                case ScalarType.Byte:
                    return torch.tensor(src.ToArray(), shape, ScalarType.Byte);
                case ScalarType.Bool:
                {
                    var b = new bool[src.Length];
                    for (int i = 0; i < b.Length; i++) b[i] = src[i] != 0;
                    return torch.tensor(b, shape);
                }
                case ScalarType.Int8:
                {
                    var v = new int[src.Length];
                    for (int i = 0; i < v.Length; i++) v[i] = (sbyte)src[i];
                    return torch.tensor(v, shape, ScalarType.Int8);
                }
                case ScalarType.Int16:
                {
                    var raw = MemoryMarshal.Cast<byte, short>(src);
                    var v = new int[raw.Length];
                    for (int i = 0; i < v.Length; i++) v[i] = raw[i];
                    return torch.tensor(v, shape, ScalarType.Int16);
                }
                case ScalarType.Float16:
                {
                    // Every half value is exact in float32, so the float32 -> float16 conversion restores the bits.
                    var raw = MemoryMarshal.Cast<byte, ushort>(src);
                    var v = new float[raw.Length];
                    for (int i = 0; i < v.Length; i++) v[i] = (float)BitConverter.UInt16BitsToHalf(raw[i]);
                    return torch.tensor(v, shape, ScalarType.Float16);
                }
                case ScalarType.BFloat16:
                {
                    var raw = MemoryMarshal.Cast<byte, ushort>(src);
                    var v = new float[raw.Length];
                    for (int i = 0; i < v.Length; i++) v[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                    return torch.tensor(v, shape, ScalarType.BFloat16);
                }
                default:
                    throw new NotSupportedException($"safetensors: dtype {type} is not supported.");
            }
        }

        private static void WriteData(Stream fs, Tensor t)
        {
            switch (t.dtype)
            {
                case ScalarType.Float32:
                    fs.Write(MemoryMarshal.AsBytes(t.data<float>().ToArray().AsSpan()));
                    break;
                case ScalarType.Float64:
                    fs.Write(MemoryMarshal.AsBytes(t.data<double>().ToArray().AsSpan()));
                    break;
                case ScalarType.Int64:
                    fs.Write(MemoryMarshal.AsBytes(t.data<long>().ToArray().AsSpan()));
                    break;
                case ScalarType.Int32:
                    fs.Write(MemoryMarshal.AsBytes(t.data<int>().ToArray().AsSpan()));
                    break;
                case ScalarType.Byte:
                    fs.Write(t.data<byte>().ToArray());
                    break;
                case ScalarType.Bool:
                    fs.Write(t.data<bool>().ToArray().Select(b => b ? (byte)1 : (byte)0).ToArray());
                    break;
                case ScalarType.Int8:
                case ScalarType.Int16:
                {
                    using var wide = t.to(ScalarType.Int32);
                    var v = wide.data<int>().ToArray();
                    if (t.dtype == ScalarType.Int8)
                        fs.Write(v.Select(x => unchecked((byte)(sbyte)x)).ToArray());
                    else
                        fs.Write(MemoryMarshal.AsBytes(v.Select(x => (short)x).ToArray().AsSpan()));
                    break;
                }
                case ScalarType.Float16:
                case ScalarType.BFloat16:
                {
                    using var wide = t.to(ScalarType.Float32);
                    var v = wide.data<float>().ToArray();
                    var bits = new ushort[v.Length];
                    if (t.dtype == ScalarType.Float16)
                        for (int i = 0; i < v.Length; i++) bits[i] = BitConverter.HalfToUInt16Bits((Half)v[i]);
                    else
                        for (int i = 0; i < v.Length; i++) bits[i] = ToBFloat16Bits(v[i]);
                    fs.Write(MemoryMarshal.AsBytes(bits.AsSpan()));
                    break;
                }
                default:
                    throw new NotSupportedException($"safetensors: dtype {t.dtype} is not supported.");
            }
        }

        /// <summary>float32 -> bfloat16 bits, round to nearest even (exact for values that came from bfloat16).</summary>
        internal static ushort ToBFloat16Bits(float value)
        {
            uint u = BitConverter.SingleToUInt32Bits(value);
            if (float.IsNaN(value)) return (ushort)((u >> 16) | 0x40);
            uint rounding = 0x7FFF + ((u >> 16) & 1);
            return (ushort)((u + rounding) >> 16);
        }

        private static int ElementSize(ScalarType type)
        {
            foreach (var d in DTypes)
                if (d.Type == type)
                    return d.Size;
            throw new NotSupportedException($"safetensors: dtype {type} is not supported.");
        }

        private readonly record struct Entry(string Name, ScalarType Type, long[] Shape, long Begin, long End);

        private static List<Entry> ParseHeader(string path, ReadOnlySpan<byte> json, out Dictionary<string, string> metadata)
        {
            metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<Entry>();
            JsonDocument doc;
            try
            {
                var reader = new Utf8JsonReader(json.TrimEnd((byte)' '));
                doc = JsonDocument.ParseValue(ref reader);
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"safetensors '{path}': the header is not valid JSON ({ex.Message}).", ex);
            }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new InvalidDataException($"safetensors '{path}': the header is not a JSON object.");
                foreach (var prop in doc.RootElement.EnumerateObject())
                {
                    if (prop.Name == "__metadata__")
                    {
                        if (prop.Value.ValueKind == JsonValueKind.Object)
                            foreach (var m in prop.Value.EnumerateObject())
                                metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                        continue;
                    }
                    entries.Add(ParseEntry(path, prop));
                }
            }
            return entries;
        }

        private static Entry ParseEntry(string path, JsonProperty prop)
        {
            string where = $"safetensors '{path}': tensor '{prop.Name}'";
            var v = prop.Value;
            if (v.ValueKind != JsonValueKind.Object
                || !v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String
                || !v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array
                || !v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
                throw new InvalidDataException($"{where} needs 'dtype', 'shape' and a two-element 'data_offsets'.");
            string dtype = dt.GetString()!;
            int idx = Array.FindIndex(DTypes, d => d.Name == dtype);
            if (idx < 0)
                throw new InvalidDataException($"{where} has unsupported dtype '{dtype}' (supported: {string.Join(", ", DTypes.Select(d => d.Name))}).");
            var shape = sh.EnumerateArray().Select(e => e.GetInt64()).ToArray();
            if (shape.Any(d => d < 0))
                throw new InvalidDataException($"{where} has a negative dimension in shape [{string.Join(", ", shape)}].");
            long begin = off[0].GetInt64(), end = off[1].GetInt64();
            long numel = 1;
            foreach (var d in shape) numel = checked(numel * d);
            long expected = checked(numel * DTypes[idx].Size);
            if (begin < 0 || end < begin || end - begin != expected)
                throw new InvalidDataException($"{where}: data_offsets [{begin}, {end}] hold {end - begin} bytes but {dtype}[{string.Join(", ", shape)}] needs {expected}.");
            return new Entry(prop.Name, DTypes[idx].Type, shape, begin, end);
        }
    }
}
