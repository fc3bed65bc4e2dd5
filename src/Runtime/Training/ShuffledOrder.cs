using System;
using Torchwright.Runtime.Data;

namespace Torchwright.Runtime.Training
{
    /// <summary>
    /// The training data order: epoch after epoch, a Fisher–Yates permutation of all indices drawn from the run's seed
    /// and the epoch number, read as one continuous stream (a batch may span two epochs). The same seed gives the same
    /// order on every machine.
    /// </summary>
    internal sealed class ShuffledOrder
    {
        private readonly int[] _permutation;
        private readonly ulong _seed;
        private int _epoch = -1;
        private int _position;

        public ShuffledOrder(int count, long seed)
        {
            if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "there must be at least one index to shuffle");
            _permutation = new int[count];
            _seed = (ulong)seed;
            _position = count;
        }

        /// <summary>Fills <paramref name="batch"/> with the next indices of the stream.</summary>
        public void Fill(int[] batch)
        {
            for (var i = 0; i < batch.Length; i++)
            {
                if (_position == _permutation.Length) NextEpoch();
                batch[i] = _permutation[_position++];
            }
        }

        private void NextEpoch()
        {
            _epoch++;
            var rng = SplitMix64.ForItem(_seed, (ulong)_epoch);
            for (var i = 0; i < _permutation.Length; i++) _permutation[i] = i;
            for (var i = _permutation.Length - 1; i > 0; i--)
            {
                var j = rng.NextInt(i + 1);
                (_permutation[i], _permutation[j]) = (_permutation[j], _permutation[i]);
            }
            _position = 0;
        }
    }
}
