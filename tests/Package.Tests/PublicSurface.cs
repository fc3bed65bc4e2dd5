using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Torchwright.Package.Tests
{
    /// <summary>
    /// The public surface of an assembly as sorted text lines, read from its metadata alone (no load, so TorchSharp need
    /// not be present): every type a user can name (public, or a public/protected nested type of one), and every member a
    /// user can call (public, or protected in an unsealed type). One line per type (<c>sealed class N.T : Base, IFace</c>, with
    /// <c>[hidden]</c> for <c>EditorBrowsable(Never)</c>) and per member, prefixed by its type
    /// (<c>N.T.Method(int, string) : bool</c>, <c>N.T.Prop : T { get; set; }</c>, <c>N.T..ctor(...)</c>).
    /// </summary>
    internal static class PublicSurface
    {
        public static List<string> Of(byte[] assembly)
        {
            using var pe = new PEReader(ImmutableArray.Create(assembly));
            var md = pe.GetMetadataReader();
            var names = new TypeNames(md);
            var lines = new List<string>();
            foreach (var handle in md.TypeDefinitions)
            {
                var type = md.GetTypeDefinition(handle);
                if (!Visible(md, type)) continue;
                string name = names.Definition(handle);
                bool sealedType = (type.Attributes & TypeAttributes.Sealed) != 0;
                lines.Add(TypeLine(md, names, type, name));
                foreach (var mh in type.GetMethods())
                {
                    var m = md.GetMethodDefinition(mh);
                    if (!MemberVisible(m.Attributes & MethodAttributes.MemberAccessMask, sealedType)) continue;
                    if (md.GetString(m.Name).StartsWith("<", StringComparison.Ordinal)) continue;   // compiler-made (a record's <Clone>$): not nameable
                    if ((m.Attributes & MethodAttributes.SpecialName) != 0 && !md.GetString(m.Name).StartsWith(".", StringComparison.Ordinal)
                        && !md.GetString(m.Name).StartsWith("op_", StringComparison.Ordinal)) continue;   // accessors: listed with their property/event
                    var sig = m.DecodeSignature(names, GenericContext.Empty);
                    int arity = m.GetGenericParameters().Count;
                    string modifiers = ((m.Attributes & MethodAttributes.Static) != 0 ? "static " : "")
                        + ((m.Attributes & MethodAttributes.MemberAccessMask) == MethodAttributes.Family ? "protected " : "");
                    lines.Add($"{name}.{md.GetString(m.Name)}{(arity > 0 ? "<" + arity + ">" : "")}({string.Join(", ", sig.ParameterTypes)}) : {sig.ReturnType}"
                        + (modifiers.Length > 0 ? "  [" + modifiers.Trim() + "]" : "") + Hidden(md, m.GetCustomAttributes()));
                }
                foreach (var ph in type.GetProperties())
                {
                    var p = md.GetPropertyDefinition(ph);
                    var acc = p.GetAccessors();
                    var get = acc.Getter.IsNil ? (MethodDefinition?)null : md.GetMethodDefinition(acc.Getter);
                    var set = acc.Setter.IsNil ? (MethodDefinition?)null : md.GetMethodDefinition(acc.Setter);
                    bool getVisible = get is { } g && MemberVisible(g.Attributes & MethodAttributes.MemberAccessMask, sealedType);
                    bool setVisible = set is { } s && MemberVisible(s.Attributes & MethodAttributes.MemberAccessMask, sealedType);
                    if (!getVisible && !setVisible) continue;
                    var sig = p.DecodeSignature(names, GenericContext.Empty);
                    string indexer = sig.ParameterTypes.Length > 0 ? "[" + string.Join(", ", sig.ParameterTypes) + "]" : "";
                    bool isStatic = ((get ?? set)!.Value.Attributes & MethodAttributes.Static) != 0;
                    bool initOnly = set is { } si && IsInitOnly(md, names, si);
                    lines.Add($"{name}.{md.GetString(p.Name)}{indexer} : {sig.ReturnType} {{ {(getVisible ? "get; " : "")}{(setVisible ? (initOnly ? "init; " : "set; ") : "")}}}"
                        + (isStatic ? "  [static]" : "") + Hidden(md, p.GetCustomAttributes()));
                }
                foreach (var eh in type.GetEvents())
                {
                    var e = md.GetEventDefinition(eh);
                    var adder = md.GetMethodDefinition(e.GetAccessors().Adder);
                    if (!MemberVisible(adder.Attributes & MethodAttributes.MemberAccessMask, sealedType)) continue;
                    lines.Add($"{name}.{md.GetString(e.Name)} : event {names.Any(e.Type)}");
                }
                foreach (var fh in type.GetFields())
                {
                    var f = md.GetFieldDefinition(fh);
                    if (!MemberVisible((MethodAttributes)(int)(f.Attributes & FieldAttributes.FieldAccessMask), sealedType)) continue;
                    if ((f.Attributes & FieldAttributes.SpecialName) != 0) continue;   // an enum's value__
                    string kind = (f.Attributes & FieldAttributes.Literal) != 0 ? "const " : (f.Attributes & FieldAttributes.Static) != 0 ? "static " : "";
                    if ((f.Attributes & FieldAttributes.InitOnly) != 0) kind += "readonly ";
                    lines.Add($"{name}.{md.GetString(f.Name)} : {kind}{f.DecodeSignature(names, GenericContext.Empty)}");
                }
            }
            lines.Sort(StringComparer.Ordinal);
            return lines;
        }

        /// <summary>Whether a line of <see cref="Of"/> is a type's (member lines start with the type's full name).</summary>
        public static bool IsType(string line) => Kinds.Any(k => line.StartsWith(k + " ", StringComparison.Ordinal));

        private static readonly string[] Kinds = { "class", "sealed class", "static class", "abstract class", "struct", "interface", "enum", "delegate" };

        private static string TypeLine(MetadataReader md, TypeNames names, TypeDefinition type, string name)
        {
            var a = type.Attributes;
            string baseName = type.BaseType.IsNil ? "" : names.Any(type.BaseType);
            string kind = (a & TypeAttributes.Interface) != 0 ? "interface"
                : baseName == "System.Enum" ? "enum"
                : baseName == "System.ValueType" ? "struct"
                : baseName == "System.MulticastDelegate" ? "delegate"
                : (a & (TypeAttributes.Abstract | TypeAttributes.Sealed)) == (TypeAttributes.Abstract | TypeAttributes.Sealed) ? "static class"
                : (a & TypeAttributes.Abstract) != 0 ? "abstract class"
                : (a & TypeAttributes.Sealed) != 0 ? "sealed class" : "class";
            var bases = new List<string>();
            if (kind is "class" or "sealed class" or "abstract class" && baseName != "System.Object") bases.Add(baseName);
            bases.AddRange(type.GetInterfaceImplementations().Select(i => names.Any(md.GetInterfaceImplementation(i).Interface)).OrderBy(s => s, StringComparer.Ordinal));
            return $"{kind} {name}{(bases.Count > 0 ? " : " + string.Join(", ", bases) : "")}{Hidden(md, type.GetCustomAttributes())}";
        }

        private static bool Visible(MetadataReader md, TypeDefinition type)
        {
            var v = type.Attributes & TypeAttributes.VisibilityMask;
            if (v == TypeAttributes.Public) return true;
            if (v != TypeAttributes.NestedPublic && v != TypeAttributes.NestedFamily && v != TypeAttributes.NestedFamORAssem) return false;
            var outer = md.GetTypeDefinition(type.GetDeclaringType());
            return Visible(md, outer) && (v == TypeAttributes.NestedPublic || (outer.Attributes & TypeAttributes.Sealed) == 0);
        }

        private static bool MemberVisible(MethodAttributes access, bool sealedType) =>
            access == MethodAttributes.Public || (!sealedType && (access == MethodAttributes.Family || access == MethodAttributes.FamORAssem));

        /// <summary>An init accessor carries the modreq IsExternalInit on its return type.</summary>
        private static bool IsInitOnly(MetadataReader md, TypeNames names, MethodDefinition setter) =>
            setter.DecodeSignature(names, GenericContext.Empty).ReturnType.Contains("IsExternalInit", StringComparison.Ordinal);

        private static string Hidden(MetadataReader md, CustomAttributeHandleCollection attributes)
        {
            foreach (var h in attributes)
            {
                var a = md.GetCustomAttribute(h);
                if (a.Constructor.Kind != HandleKind.MemberReference) continue;
                var ctor = md.GetMemberReference((MemberReferenceHandle)a.Constructor);
                if (ctor.Parent.Kind != HandleKind.TypeReference) continue;
                var t = md.GetTypeReference((TypeReferenceHandle)ctor.Parent);
                if (md.GetString(t.Name) != "EditorBrowsableAttribute") continue;
                var value = md.GetBlobReader(a.Value);
                value.ReadUInt16();   // prolog
                if (value.ReadInt32() == 1) return "  [hidden]";   // EditorBrowsableState.Never
            }
            return "";
        }

        private sealed class GenericContext
        {
            public static readonly GenericContext Empty = new();
        }

        /// <summary>C#-style names of the types in signatures: keywords for primitives, full names otherwise, nested types
        /// with '+', generic arguments in angle brackets, method/type parameters as !!0 / !0.</summary>
        private sealed class TypeNames : ISignatureTypeProvider<string, GenericContext>
        {
            private readonly MetadataReader _md;

            public TypeNames(MetadataReader md) => _md = md;

            public string Definition(TypeDefinitionHandle handle)
            {
                var t = _md.GetTypeDefinition(handle);
                var name = _md.GetString(t.Name);
                if (t.IsNested) return Definition(t.GetDeclaringType()) + "+" + name;
                var ns = _md.GetString(t.Namespace);
                return ns.Length == 0 ? name : ns + "." + name;
            }

            public string Reference(TypeReferenceHandle handle)
            {
                var t = _md.GetTypeReference(handle);
                var name = _md.GetString(t.Name);
                if (t.ResolutionScope.Kind == HandleKind.TypeReference) return Reference((TypeReferenceHandle)t.ResolutionScope) + "+" + name;
                var ns = _md.GetString(t.Namespace);
                return ns.Length == 0 ? name : ns + "." + name;
            }

            public string Any(EntityHandle handle) => handle.Kind switch
            {
                HandleKind.TypeDefinition => Definition((TypeDefinitionHandle)handle),
                HandleKind.TypeReference => Reference((TypeReferenceHandle)handle),
                HandleKind.TypeSpecification => _md.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(this, GenericContext.Empty),
                _ => throw new NotSupportedException(handle.Kind.ToString()),
            };

            public string GetPrimitiveType(PrimitiveTypeCode typeCode) => typeCode switch
            {
                PrimitiveTypeCode.Boolean => "bool",
                PrimitiveTypeCode.Byte => "byte",
                PrimitiveTypeCode.SByte => "sbyte",
                PrimitiveTypeCode.Char => "char",
                PrimitiveTypeCode.Int16 => "short",
                PrimitiveTypeCode.UInt16 => "ushort",
                PrimitiveTypeCode.Int32 => "int",
                PrimitiveTypeCode.UInt32 => "uint",
                PrimitiveTypeCode.Int64 => "long",
                PrimitiveTypeCode.UInt64 => "ulong",
                PrimitiveTypeCode.Single => "float",
                PrimitiveTypeCode.Double => "double",
                PrimitiveTypeCode.String => "string",
                PrimitiveTypeCode.Object => "object",
                PrimitiveTypeCode.Void => "void",
                PrimitiveTypeCode.IntPtr => "nint",
                PrimitiveTypeCode.UIntPtr => "nuint",
                PrimitiveTypeCode.TypedReference => "TypedReference",
                _ => typeCode.ToString(),
            };

            public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => Definition(handle);
            public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => Reference(handle);
            public string GetTypeFromSpecification(MetadataReader reader, GenericContext genericContext, TypeSpecificationHandle handle, byte rawTypeKind) =>
                reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);
            public string GetSZArrayType(string elementType) => elementType + "[]";
            public string GetArrayType(string elementType, ArrayShape shape) => elementType + "[" + new string(',', shape.Rank - 1) + "]";
            public string GetByReferenceType(string elementType) => "ref " + elementType;
            public string GetPointerType(string elementType) => elementType + "*";
            public string GetPinnedType(string elementType) => elementType;
            public string GetGenericInstantiation(string genericType, ImmutableArray<string> typeArguments)
            {
                int tick = genericType.LastIndexOf('`');
                var bare = tick < 0 ? genericType : genericType.Substring(0, tick) + genericType.Substring(genericType.IndexOf('+', tick) is int plus and >= 0 ? plus : genericType.Length);
                if (bare == "System.Nullable" && typeArguments.Length == 1) return typeArguments[0] + "?";
                return bare + "<" + string.Join(", ", typeArguments) + ">";
            }
            public string GetGenericMethodParameter(GenericContext genericContext, int index) => "!!" + index;
            public string GetGenericTypeParameter(GenericContext genericContext, int index) => "!" + index;
            public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) =>
                isRequired && modifier.EndsWith("IsExternalInit", StringComparison.Ordinal) ? unmodifiedType + " modreq(IsExternalInit)" : unmodifiedType;
            public string GetFunctionPointerType(MethodSignature<string> signature) =>
                "delegate*<" + string.Join(", ", signature.ParameterTypes.Append(signature.ReturnType)) + ">";
        }
    }
}
