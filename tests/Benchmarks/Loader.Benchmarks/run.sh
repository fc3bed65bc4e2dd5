#!/usr/bin/env bash
# The training input pipeline's speed (a benchmark, not a test): images/s decoded + augmented (RandomResizedCrop 224,
# flip, normalise; batch 32) by TrainBatchStream with 1, 2 and N workers, side by side with torchvision's ImageFolder +
# DataLoader (PIL; Debian's python3-torchvision) on the same files in the same run, and a ResNet-50 train step at batch
# 32 (`torchwright bench --mode train`) to tell whether the loader keeps up with training on this machine.
# Usage: tests/Benchmarks/Loader.Benchmarks/run.sh [images (default 640)] [batches (default 12)]
# The image folder is written once to ${TW_LOADER_DIR:-/tmp/tw-loader-bench} (the shapes set at 320-500 px, half JPEG,
# half PNG) and reused by later runs.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../../.." && pwd)"
images="${1:-640}"
batches="${2:-12}"
dir="${TW_LOADER_DIR:-/tmp/tw-loader-bench}"
python="${TORCHWRIGHT_PYTHON:-/usr/bin/python3}"
n=$(nproc)
workers="1 2"; [ "$n" -gt 2 ] && workers="$workers $n"
echo "machine: $n cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
dotnet build "$repo/tests/Benchmarks/Loader.Benchmarks" -c Release -v q -nologo >/dev/null
dotnet "$repo/tests/Benchmarks/Loader.Benchmarks/bin/Release/net10.0/Torchwright.Loader.Benchmarks.dll" "$dir" "$images" "$batches" $workers
"$python" "$repo/tests/Benchmarks/Loader.Benchmarks/torchvision_loader.py" "$dir" "$batches" $workers
dotnet build "$repo/src/Cli" -c Release -v q -nologo >/dev/null
dotnet "$repo/src/Cli/bin/Release/net10.0/torchwright.dll" bench "$repo/architectures/resnet50.arch" --mode train --batch 32 \
  --warmup 1 --iterations 3 --no-reference
