using System;
using System.Collections;
using System.Collections.Generic;

namespace Torchwright.Dsl
{
    /// <summary>An immutable array with value equality, so the incremental generator can compare pipeline models and cache its steps.</summary>
    public readonly struct EquatableArray<T> : IEquatable<EquatableArray<T>>, IReadOnlyList<T>
    {
        private readonly T[]? items;

        public EquatableArray(T[] items) => this.items = items;

        public static EquatableArray<T> Empty => new EquatableArray<T>(Array.Empty<T>());

        public int Count => items?.Length ?? 0;

        public T this[int index] => (items ?? Array.Empty<T>())[index];

        public T[] ToArray() => items is null ? Array.Empty<T>() : (T[])items.Clone();

        public bool Equals(EquatableArray<T> other)
        {
            var a = items ?? Array.Empty<T>();
            var b = other.items ?? Array.Empty<T>();
            if (a.Length != b.Length) return false;
            var cmp = EqualityComparer<T>.Default;
            for (int i = 0; i < a.Length; i++)
                if (!cmp.Equals(a[i], b[i])) return false;
            return true;
        }

        public override bool Equals(object? obj) => obj is EquatableArray<T> other && Equals(other);

        public override int GetHashCode()
        {
            unchecked
            {
                int hash = 17;
                var cmp = EqualityComparer<T>.Default;
                foreach (var item in items ?? Array.Empty<T>())
                    hash = hash * 31 + (item is null ? 0 : cmp.GetHashCode(item));
                return hash;
            }
        }

        public static bool operator ==(EquatableArray<T> left, EquatableArray<T> right) => left.Equals(right);
        public static bool operator !=(EquatableArray<T> left, EquatableArray<T> right) => !left.Equals(right);

        public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)(items ?? Array.Empty<T>())).GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    public static class EquatableArray
    {
        public static EquatableArray<T> From<T>(IEnumerable<T> items) => new EquatableArray<T>(new List<T>(items).ToArray());
    }
}
