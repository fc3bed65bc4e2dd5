using System;
using System.Collections.Generic;

namespace Torchwright.Runtime.Data
{
    /// <summary>
    /// The per-image pipelines of <see cref="AugmentSettings"/> at one output size, as timm's transforms_factory builds
    /// them: train = RandomResizedCrop(size, scale, ratio) → horizontal flip → RandAugment/TrivialAugmentWide → ToTensor
    /// + Normalize → RandomErasing; eval = Resize(floor(size / crop_pct)) → CenterCrop(size) → ToTensor + Normalize.
    /// Every random draw comes from the sample's own SplitMix64.
    /// </summary>
    internal sealed class ImageTransform
    {
        // timm's RandomErasing defaults: one box, 2 % to 1/3 of the area, aspect 0.3 to 1/0.3 (log-uniform).
        private const double EraseMinArea = 0.02, EraseMaxArea = 1.0 / 3.0, EraseMinAspect = 0.3;

        private readonly AugmentSettings _settings;
        private readonly AutoAugment? _autoAugment;
        private readonly float[] _mean, _std;

        /// <param name="settings">Crop, flip, auto-augment, erasing, eval resize and normalisation settings.</param>
        /// <param name="size">Output side in pixels (square).</param>
        /// <param name="mean">The dataset's default mean, used when the settings' is auto.</param>
        /// <param name="std">The dataset's default standard deviation, used when the settings' is auto.</param>
        public ImageTransform(AugmentSettings settings, int size, IReadOnlyList<float> mean, IReadOnlyList<float> std)
        {
            _settings = settings ?? throw new ArgumentNullException(nameof(settings));
            Size = size;
            _autoAugment = Data.AutoAugment.Parse(settings.AutoAugment);
            var (chosenMean, chosenStd) = Datasets.Normalisation(settings);
            _mean = chosenMean ?? new[] { mean[0], mean[1], mean[2] };
            _std = chosenStd ?? new[] { std[0], std[1], std[2] };
        }

        public int Size { get; }

        public IReadOnlyList<float> Mean => _mean;

        public IReadOnlyList<float> Std => _std;

        /// <summary>The eval pipeline into <paramref name="destination"/> (3·size·size floats, planar).</summary>
        public void Eval(RgbImage image, Span<float> destination)
        {
            var resized = ImageOps.ResizeShorter(image, EvalResize(Size, _settings.CropPct), _settings.Interpolation);
            ImageOps.Normalize(ImageOps.CenterCrop(resized, Size, Size), _mean, _std, destination);
        }

        /// <summary>timm's eval scale size: floor(size / crop_pct).</summary>
        public static int EvalResize(int size, double cropPct) => (int)Math.Floor(size / cropPct);

        /// <summary>The train pipeline into <paramref name="destination"/> (3·size·size floats, planar).</summary>
        public void Train(RgbImage image, ref SplitMix64 rng, Span<float> destination)
        {
            var (top, left, height, width) = RandomResizedCropParameters(image.Width, image.Height, _settings.Scale, _settings.Ratio, ref rng);
            var crop = ImageOps.ResizedCrop(image, top, left, height, width, Size, Size, _settings.Interpolation);
            if (rng.NextDouble() < _settings.HorizontalFlip) ImageOps.FlipHorizontal(crop);
            if (_autoAugment is not null) crop = _autoAugment.Apply(crop, ref rng);
            ImageOps.Normalize(crop, _mean, _std, destination);
            if (_settings.EraseProbability > 0) Erase(destination, ref rng);
        }

        /// <summary>torchvision's RandomResizedCrop.get_params: up to 10 tries of an area fraction uniform in
        /// <paramref name="scale"/> and a log-uniform aspect in <paramref name="ratio"/> (sides rounded half to even, as
        /// Python's round), else the whole image centre-cropped to the nearest allowed aspect.</summary>
        public static (int Top, int Left, int Height, int Width) RandomResizedCropParameters(int imageWidth, int imageHeight,
            (double Min, double Max) scale, (double Min, double Max) ratio, ref SplitMix64 rng)
        {
            var area = (double)imageWidth * imageHeight;
            double logLow = Math.Log(ratio.Min), logHigh = Math.Log(ratio.Max);
            for (var attempt = 0; attempt < 10; attempt++)
            {
                var targetArea = area * rng.Uniform(scale.Min, scale.Max);
                var aspect = Math.Exp(rng.Uniform(logLow, logHigh));
                var w = (int)Math.Round(Math.Sqrt(targetArea * aspect), MidpointRounding.ToEven);
                var h = (int)Math.Round(Math.Sqrt(targetArea / aspect), MidpointRounding.ToEven);
                if (w > 0 && w <= imageWidth && h > 0 && h <= imageHeight)
                {
                    var top = rng.NextInt(imageHeight - h + 1);
                    var left = rng.NextInt(imageWidth - w + 1);
                    return (top, left, h, w);
                }
            }
            var inRatio = (double)imageWidth / imageHeight;
            int cw, ch;
            if (inRatio < ratio.Min)
            {
                cw = imageWidth;
                ch = (int)Math.Round(cw / ratio.Min, MidpointRounding.ToEven);
            }
            else if (inRatio > ratio.Max)
            {
                ch = imageHeight;
                cw = (int)Math.Round(ch * ratio.Max, MidpointRounding.ToEven);
            }
            else
            {
                cw = imageWidth;
                ch = imageHeight;
            }
            return ((imageHeight - ch) / 2, (imageWidth - cw) / 2, ch, cw);
        }

        /// <summary>timm's RandomErasing (count 1) on the normalised planar image.</summary>
        private void Erase(Span<float> image, ref SplitMix64 rng)
        {
            if (rng.NextDouble() >= _settings.EraseProbability) return;
            var side = Size;
            var area = (double)side * side;
            double logLow = Math.Log(EraseMinAspect), logHigh = Math.Log(1 / EraseMinAspect);
            for (var attempt = 0; attempt < 10; attempt++)
            {
                var target = rng.Uniform(EraseMinArea, EraseMaxArea) * area;
                var aspect = Math.Exp(rng.Uniform(logLow, logHigh));
                var h = (int)Math.Round(Math.Sqrt(target * aspect), MidpointRounding.ToEven);
                var w = (int)Math.Round(Math.Sqrt(target / aspect), MidpointRounding.ToEven);
                if (w >= side || h >= side) continue;
                var top = rng.NextInt(side - h + 1);
                var left = rng.NextInt(side - w + 1);
                var plane = side * side;
                for (var c = 0; c < 3; c++)
                    for (var y = top; y < top + h; y++)
                        for (var x = left; x < left + w; x++)
                            image[c * plane + y * side + x] = _settings.EraseMode == EraseMode.Pixel ? (float)rng.NextGaussian() : 0f;
                return;
            }
        }
    }
}
