#!/usr/bin/env bash
# The issue's bench table (a benchmark, not a test): `torchwright bench` of ResNet50, BotNet50, ResNeSt50, VanB0,
# CotNet50 and ResTLite at batch 8 and 224 px, infer (--optimize --precision bf16-mixed: the rows Torchwright,
# Torchwright optimised, Torchwright bf16-mixed, PyTorch eager, PyTorch best) and train (--precision bf16-mixed: the
# same without the optimised row, which cannot train), one bench process at a time, every JSON kept in the output
# folder, then one markdown table (table.py) with the ratios measured within each run.
#
# Usage: tests/Benchmarks/Table/run.sh [--fast] [--out DIR] [--models "ResNet50 VanB0 ..."] [--modes "infer train"]
#                                      [--iterations N] [--warmup N] [--best-budget S] [--batch B]
#   default: 10 timed iterations, 2 warm-up, PyTorch best's choice bounded to 120 s per run, out results/bench-table
#   --fast: the check that the driver works, not a measurement: each model derived at 64 px input (a generated
#           .arch importing the zoo file), batch 2, 1 warm-up, 1 timed iteration, a 2 s choice budget.
# Run it on an otherwise idle machine: the sides alternate iteration by iteration, so load hits them alike, but
# absolute speeds and the measured peaks move with it (the load average at start and end is printed).
# TORCHWRIGHT_PYTHON names the PyTorch side's python (default /usr/bin/python3: Debian's PyTorch 1.13).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../../.." && pwd)"
out="$repo/results/bench-table"
models="ResNet50 BotNet50 ResNeSt50 VanB0 CotNet50 ResTLite"
modes="infer train"
iterations=10 warmup=2 budget=120 batch=8 fast=0
while [ $# -gt 0 ]; do
  case "$1" in
    --fast) fast=1; iterations=1 warmup=1 budget=2 batch=2; shift ;;
    --out) out="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --modes) modes="$2"; shift 2 ;;
    --iterations) iterations="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --best-budget) budget="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    *) echo "run.sh: unknown argument '$1' (see the usage at the top of $0)" >&2; exit 2 ;;
  esac
done
for m in $modes; do
  case "$m" in infer|train) ;; *) echo "run.sh: --modes takes infer and/or train, not '$m'" >&2; exit 2 ;; esac
done

# The zoo file declaring each model.
file_of() {
  case "$1" in
    ResNet50) echo resnet50.arch ;; BotNet50) echo botnet50.arch ;; ResNeSt50) echo resnest50.arch ;;
    VanB0) echo van.arch ;; CotNet50) echo cotnet50.arch ;; ResTLite) echo rest.arch ;;
    *) echo "run.sh: no zoo file known for '$1' (ResNet50, BotNet50, ResNeSt50, VanB0, CotNet50, ResTLite)" >&2; return 2 ;;
  esac
}

dotnet build "$repo/src/Cli" -c Release -v q -nologo >/dev/null
torchwright() { dotnet "$repo/src/Cli/bin/Release/net10.0/torchwright.dll" "$@"; }
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.err "$out"/run.txt
start=$(date +%s)
{
  echo "started $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$repo" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "settings: batch $batch; per side $warmup untimed, then $iterations timed (--warmup, --iterations); PyTorch best's choice within $budget s$([ $fast = 1 ] && echo ', FAST: 64 px inputs, not a measurement')"
} > "$out/run.txt"

for model in $models; do
  file="$repo/architectures/$(file_of "$model")"
  name="$model"
  if [ $fast = 1 ]; then
    # The same blocks at 64 px: a derived architecture importing the zoo file.
    name="${model}At64"
    file="$out/$name.arch"
    printf 'import "%s"\narch %s : %s {\n  input = 3x64x64\n}\n' "$repo/architectures/$(file_of "$model")" "$name" "$model" > "$file"
  fi
  for mode in $modes; do
    extra=(--precision bf16-mixed)
    [ "$mode" = infer ] && extra+=(--optimize)
    t0=$(date +%s)
    status=ok
    torchwright bench "$file" --name "$name" --batch "$batch" --mode "$mode" --warmup "$warmup" --iterations "$iterations" \
      --best-budget "$budget" --format json "${extra[@]}" > "$out/$model.$mode.json" 2> "$out/$model.$mode.err" || status="exit $?"
    echo "$model $mode: $status, $(( $(date +%s) - t0 )) s" | tee -a "$out/run.txt"
  done
done
{
  echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "total wall time: $(( $(date +%s) - start )) s"
} >> "$out/run.txt"
"${TORCHWRIGHT_PYTHON:-/usr/bin/python3}" "$repo/tests/Benchmarks/Table/table.py" "$out" $models | tee "$out/table.md"
