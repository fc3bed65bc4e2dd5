#!/usr/bin/env bash
# GPU check: infer, a few training steps and bench of the zoo with --device cuda, per precision, on a machine with an
# NVIDIA GPU and neither the .NET SDK nor network. Two steps, on two machines:
#
#   bash gpu-check.sh publish [--out DIR] [--cuda]
#       here (the .NET SDK and the NuGet feed): a self-contained linux-x64 publish of the CLI that carries its engine
#       (dotnet publish -r linux-x64 --self-contained -p:TorchwrightPublishEngine=true), the zoo's .arch files and this
#       script, in DIR (default artifacts/gpu-check) and DIR.tar.gz. Without --cuda the engine is TorchSharp-cpu (libtorch
#       2.10 CPU): give the GPU machine a CUDA libtorch with `run --libtorch-cuda`. --cuda builds with -p:TorchCuda=true
#       (TorchSharp-cuda-linux and its libtorch-cuda-* packages), which needs a NuGet feed that serves them.
#
#   bash DIR/gpu-check.sh run [--device cuda] [--precisions fp32,bf16-mixed] [--libtorch-cuda LIBDIR] [--out RESULTS]
#                             [--archs "resnet50:ResNet50 ..."] [--batch 32] [--iterations 10] [--steps 20] [--python P]
#       there: for each precision, `train` (--steps steps of ResNet50, 8 classes, on the embedded shapes set at 224 px), `infer`
#       (the trained weights on a fixed batch, on --device and on the CPU, and the largest difference of the logits) and
#       `bench` (infer and train) of every --archs entry, each JSON and log in RESULTS (default ./gpu-check-results), then
#       a summary table. A precision a verb does not offer (its --help does not list it) is reported as skipped, never
#       run as something else. --libtorch-cuda LIBDIR: the lib/ folder of PyTorch's libtorch 2.10.0 CUDA build (cxx11
#       ABI, shared with deps) or of a TorchSharp-cuda-linux 0.107.0 publish; its libraries replace the bundle's CPU
#       libtorch in a copy of the bundle (RESULTS/engine). Without a CUDA libtorch the CLI says so and the run stops
#       with exit code 3 ("CUDA unavailable"). --python P: a python whose torch has CUDA, for bench's PyTorch sides
#       (default: none, bench runs --no-reference). --device cpu runs the same matrix on the CPU (a dry run of the script).
#
# Status: prepared and dry-run checked on a CPU machine (--device cpu); not yet run on a GPU.
set -euo pipefail

usage() { sed -n '2,27p' "$0" >&2; exit 2; }
here="$(cd "$(dirname "$0")" && pwd)"

publish() {
  local out="artifacts/gpu-check" cuda=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --out) out="$2"; shift 2 ;;
      --cuda) cuda=(-p:TorchCuda=true); shift ;;
      *) echo "gpu-check publish: unknown option '$1'" >&2; usage ;;
    esac
  done
  command -v dotnet >/dev/null || { echo "gpu-check publish: needs the .NET SDK (dotnet)" >&2; exit 1; }
  cd "$here"
  rm -rf "$out"
  mkdir -p "$out"
  dotnet publish src/Cli/Cli.csproj -c Release -r linux-x64 --self-contained -p:TorchwrightPublishEngine=true "${cuda[@]}" \
    --nologo -v quiet -o "$out/torchwright"
  [ -f "$out/torchwright/libtorch.so" ] || { echo "gpu-check publish: $out/torchwright has no libtorch.so; the engine was not published" >&2; exit 1; }
  cp -r architectures "$out/architectures"
  cp gpu-check.sh "$out/gpu-check.sh"
  if [ -f "$out/torchwright/libtorch_cuda.so" ]; then
    echo "gpu-check publish: CUDA libtorch included" > "$out/ENGINE"
  else
    echo "gpu-check publish: CPU libtorch (TorchSharp-cpu); on the GPU machine pass run --libtorch-cuda LIBDIR" > "$out/ENGINE"
  fi
  tar -C "$(dirname "$out")" -czf "$out.tar.gz" "$(basename "$out")"
  cat "$out/ENGINE"
  echo "gpu-check publish: $out and $out.tar.gz ($(du -sh "$out.tar.gz" | cut -f1)); on the GPU machine: tar xzf $(basename "$out").tar.gz && bash $(basename "$out")/gpu-check.sh run"
}

# The largest |a - b| over the largest |a| of the float32 tensor 'output' of two safetensors files (perl: no python needed).
compare_outputs() {
  perl -e '
    sub load { my ($f) = @_; open(my $h, "<:raw", $f) or die "$f: $!"; local $/; my $b = <$h>;
      my $n = unpack("Q<", substr($b, 0, 8)); my $j = substr($b, 8, $n);
      $j =~ /"output"\s*:\s*\{[^}]*"data_offsets"\s*:\s*\[\s*(\d+)\s*,\s*(\d+)\s*\]/ or die "$f: no output tensor";
      return [unpack("f<*", substr($b, 8 + $n + $1, $2 - $1))]; }
    my ($a, $b) = (load($ARGV[0]), load($ARGV[1]));
    @$a == @$b or die "sizes differ: " . scalar(@$a) . " vs " . scalar(@$b);
    my ($d, $m) = (0, 0);
    for my $i (0 .. $#$a) { my $x = abs($a->[$i] - $b->[$i]); $d = $x if $x > $d; $m = abs($a->[$i]) if abs($a->[$i]) > $m; }
    printf("%.3g\n", $m > 0 ? $d / $m : $d);' "$1" "$2"
}

# A safetensors file with a float32 tensor 'input' of shape N x 3 x H x W, values sin(i) (the same on every machine).
write_input() {
  perl -e '
    my ($path, $n, $h, $w) = @ARGV; my $count = $n * 3 * $h * $w;
    my $data = pack("f<*", map { sin($_) } 0 .. $count - 1);
    my $json = sprintf("{\"input\":{\"dtype\":\"F32\",\"shape\":[%d,3,%d,%d],\"data_offsets\":[0,%d]}}", $n, $h, $w, length($data));
    $json .= " " x ((8 - length($json) % 8) % 8);
    open(my $f, ">:raw", $path) or die "$path: $!"; print $f pack("Q<", length($json)), $json, $data; close($f);' "$@"
}

# Whether `torchwright VERB --help` offers --precision with this value.
offers_precision() {
  local verb="$1" precision="$2"
  [ "$precision" = "fp32" ] && return 0
  "$tw" "$verb" --help 2>/dev/null | grep -- "--precision" | grep -q -- "$precision"
}

run() {
  local device="cuda" precisions="fp32,bf16-mixed" libtorch="" out="gpu-check-results" python="" batch=32 iterations=10 steps=20
  local archs="resnet50:ResNet50 botnet50:BotNet50 resnest50:ResNeSt50 van:VanB0 cotnet50:CotNet50 rest:ResTLite"
  while [ $# -gt 0 ]; do
    case "$1" in
      --device) device="$2"; shift 2 ;;
      --precisions) precisions="$2"; shift 2 ;;
      --libtorch-cuda) libtorch="$2"; shift 2 ;;
      --out) out="$2"; shift 2 ;;
      --python) python="$2"; shift 2 ;;
      --archs) archs="$2"; shift 2 ;;
      --batch) batch="$2"; shift 2 ;;
      --iterations) iterations="$2"; shift 2 ;;
      --steps) steps="$2"; shift 2 ;;
      *) echo "gpu-check run: unknown option '$1'" >&2; usage ;;
    esac
  done
  [ -x "$here/torchwright/torchwright" ] || { echo "gpu-check run: $here/torchwright/torchwright not found; run 'gpu-check.sh publish' first and copy its folder here" >&2; exit 2; }
  mkdir -p "$out"
  out="$(cd "$out" && pwd)"
  local app="$here/torchwright"
  if [ -n "$libtorch" ]; then
    [ -f "$libtorch/libtorch_cuda.so" ] || { echo "gpu-check run: --libtorch-cuda $libtorch has no libtorch_cuda.so (give the lib/ folder of a libtorch 2.10.0 CUDA build)" >&2; exit 2; }
    rm -rf "$out/engine"
    cp -a "$app" "$out/engine"
    rm -f "$out/engine"/libtorch*.so* "$out/engine"/libc10*.so* "$out/engine"/libgomp*.so*
    cp -a "$libtorch"/*.so* "$out/engine/"
    app="$out/engine"
    echo "gpu-check run: libtorch from $libtorch (copied into $app)"
  fi
  tw="$app/torchwright"
  export DOTNET_CLI_TELEMETRY_OPTOUT=1
  { echo "date: $(date -u)"; uname -a; command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi: not found"; } > "$out/machine.txt"
  cat "$out/machine.txt"

  local reference=(--no-reference)
  [ -n "$python" ] && reference=(--python "$python")
  local a="$here/architectures"
  write_input "$out/input.safetensors" 2 224 224
  # ResNet50 with the shapes set's 8 classes: what train and infer run.
  printf 'import "%s/resnet50.arch"\narch ResNet50Shapes : ResNet50 { classes = 8 }\n' "$a" > "$out/resnet50-shapes.arch"

  # CUDA first: one short bench says whether this build and machine can use the device at all.
  if ! "$tw" bench "$a/resnet50.arch" --name ResNet50 --device "$device" --batch 1 --warmup 0 --iterations 1 --no-reference > "$out/probe.txt" 2> "$out/probe.err"; then
    cat "$out/probe.err" >&2
    if grep -q -- "--device" "$out/probe.err"; then
      echo "gpu-check run: CUDA unavailable (above); nothing was run. Give a CUDA libtorch with --libtorch-cuda, or publish with --cuda." >&2
      exit 3
    fi
    exit 1
  fi

  local summary="$out/summary.txt" status=0
  : > "$summary"
  IFS=',' read -r -a plist <<< "$precisions"
  for p in "${plist[@]}"; do
    # train + infer (the trained weights, on the device and on the CPU).
    local tp=()
    [ "$p" != "fp32" ] && tp=(--precision "$p")
    if offers_precision train "$p"; then
      if "$tw" train "$out/resnet50-shapes.arch" --name ResNet50Shapes --dataset shapes:224:n=64:test=16 --steps "$steps" --batch 8 \
          --eval-every "$steps" --device "$device" --progress plain --out "$out/train-$p" "${tp[@]}" > "$out/train-$p.log" 2>&1; then
        echo "train    ResNet50Shapes $p: ok ($(tail -n 1 "$out/train-$p.log"))" >> "$summary"
      else
        echo "train    ResNet50Shapes $p: FAILED (see train-$p.log)" >> "$summary"; status=1
      fi
    else
      echo "train    ResNet50Shapes $p: skipped: train does not offer --precision $p in this build" >> "$summary"
    fi
    if [ -f "$out/train-$p/last.safetensors" ] && offers_precision infer "$p"; then
      if "$tw" infer "$out/resnet50-shapes.arch" --name ResNet50Shapes --weights "$out/train-$p/last.safetensors" --input "$out/input.safetensors" \
            --output "$out/infer-$p-$device.safetensors" --device "$device" "${tp[@]}" > "$out/infer-$p.log" 2>&1 \
         && "$tw" infer "$out/resnet50-shapes.arch" --name ResNet50Shapes --weights "$out/train-$p/last.safetensors" --input "$out/input.safetensors" \
            --output "$out/infer-$p-cpu.safetensors" --device cpu "${tp[@]}" >> "$out/infer-$p.log" 2>&1; then
        echo "infer    ResNet50Shapes $p: ok, logits $device vs cpu: max |diff| / max |logit| = $(compare_outputs "$out/infer-$p-cpu.safetensors" "$out/infer-$p-$device.safetensors")" >> "$summary"
      else
        echo "infer    ResNet50Shapes $p: FAILED (see infer-$p.log)" >> "$summary"; status=1
      fi
    else
      echo "infer    ResNet50Shapes $p: skipped: $([ -f "$out/train-$p/last.safetensors" ] && echo "infer does not offer --precision $p in this build" || echo "no trained weights")" >> "$summary"
    fi
    # bench, infer and train, every architecture.
    for mode in infer train; do
      for spec in $archs; do
        local file="${spec%%:*}" name="${spec##*:}"
        local json="$out/bench-$name-$mode-$p.json"
        if ! offers_precision bench "$p"; then
          echo "bench    $name $mode $p: skipped: bench does not offer --precision $p in this build" >> "$summary"
          continue
        fi
        if "$tw" bench "$a/$file.arch" --name "$name" --device "$device" --batch "$batch" --mode "$mode" --iterations "$iterations" \
            --precision "$p" --format json "${reference[@]}" > "$json" 2> "${json%.json}.err"; then
          local rows
          rows=$(perl -0777 -ne 'while (/"side":\s*"([^"]*)"(?:,\s*"path":\s*"([^"]*)")?.*?"images_per_s":\s*([0-9.eE+-]+)/gs) {
              my ($side, $path, $speed) = ($1, defined $2 ? " ($2)" : "", $3); $path =~ s/\\u002B/+/g;
              printf("%s%s: %.2f images/s; ", $side, $path, $speed) }' "$json")
          echo "bench    $name $mode $p: $rows" >> "$summary"
        else
          echo "bench    $name $mode $p: FAILED (see ${json%.json}.err)" >> "$summary"; status=1
        fi
      done
    done
  done
  echo "gpu-check run on $device, precisions $precisions, batch $batch ($out):"
  cat "$summary"
  exit $status
}

case "${1:-}" in
  publish) shift; publish "$@" ;;
  run) shift; run "$@" ;;
  *) usage ;;
esac
