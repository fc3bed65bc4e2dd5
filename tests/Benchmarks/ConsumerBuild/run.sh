#!/usr/bin/env bash
# Incremental build cost in a consumer of the Torchwright package (a benchmark, not a test): a console project with N
# (default 50) .arch architectures, built three ways, each timed (wall clock) and with the compiler's ReportAnalyzer
# figures for the generator:
#   full     first build after restore (empty bin/ and obj/; includes copying libtorch, ~600 MB, into bin/)
#   no-op    the same build again, nothing changed: MSBuild must skip CoreCompile, so the generator does not run
#   edit     one .arch file edited (its classes changed): CoreCompile and the generator run once
# Needs `bash pack.sh` first (uses artifacts/packages). Torchwright is restored into a private package folder; TorchSharp
# comes from the NuGet cache as a fallback folder (else from the registry). The compiler server is off
# (UseSharedCompilation=false), as in a CI build, so every csc is a fresh process and no server is left running.
# Usage: tests/Benchmarks/ConsumerBuild/run.sh [architectures]   (prints a table; binlogs stay in the temp folder)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../../.." && pwd)"
n="${1:-50}"
packages="$repo/artifacts/packages"
nupkg=$(ls "$packages"/Torchwright.[0-9]*.nupkg 2>/dev/null | head -1) || true
[ -n "$nupkg" ] || { echo "consumer-build: no Torchwright package in $packages: run 'bash pack.sh' first" >&2; exit 2; }
version=$(basename "$nupkg" .nupkg); version=${version#Torchwright.}

tmp=$(mktemp -d /tmp/tw-consumer-build.XXXXXX)
trap '[ -n "${TW_KEEP:-}" ] || rm -rf "$tmp"' EXIT
export NUGET_FALLBACK_PACKAGES="${NUGET_PACKAGES:-$HOME/.nuget/packages}" NUGET_PACKAGES="$tmp/nuget-packages"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 MSBUILDDISABLENODEREUSE=1

cd "$tmp"
dotnet new console -o Bench >/dev/null
cd Bench
dotnet new nugetconfig >/dev/null
dotnet nuget add source "$packages" --name torchwright-local --configfile nuget.config >/dev/null
dotnet add package TorchSharp-cpu --version 0.107.0 >/dev/null
dotnet add package Torchwright --version "$version" >/dev/null

# N architectures over the zoo's BoTNet-50 / ResNet-50, every one different (head size, c5 MHSA mask, width).
masks=("[0, 0, 0]" "[0, 0, 1]" "[0, 1, 1]" "[1, 1, 1]" "[1, 0, 1]")
{
  echo "using System;"
  echo "using Bench;"
  echo "long total = 0;"
} > Program.cs
for ((i = 0; i < n; i++)); do
  name=$(printf "Net%02d" "$i")
  printf 'arch %s : BotNet50 {\n  classes = %d\n  c5.mhsa = %s\n  width = %s\n}\n' \
    "$name" $((10 + i)) "${masks[$((i % 5))]}" "$( [ $((i % 2)) -eq 0 ] && echo 1.0 || echo 0.5 )" > "$name.arch"
  echo "total += $name.ParameterCount;" >> Program.cs
done
echo 'Console.WriteLine($"{total:N0} parameters in all");' >> Program.cs

# -v:d: csc's ReportAnalyzer table and MSBuild's "Skipping target" lines are detailed-verbosity messages.
props=(-p:ReportAnalyzer=true -p:UseSharedCompilation=false -clp:PerformanceSummary -v:d)

# build <label>: wall seconds, CoreCompile ran or not, the generator's time as csc reports it.
build() {
  local label="$1" start end log="$tmp/$1.log"
  start=$(date +%s.%N)
  dotnet build --no-restore "${props[@]}" -bl:"$tmp/$label.binlog" > "$log" 2>&1 || { cat "$log"; exit 1; }
  end=$(date +%s.%N)
  local wall compile generator all warnings
  wall=$(awk "BEGIN { print $end - $start }")
  if grep -q 'Skipping target "CoreCompile" because all output files are up-to-date' "$log"; then compile="skipped"
  else compile=$(awk '$2 == "ms" && $3 == "CoreCompile" { printf "%.2f s", $1 / 1000; exit }' "$log"); fi
  generator=$(awk '$NF == "Torchwright.Generator.ArchitectureGenerator" { printf "%.3f s", $1; exit }' "$log")
  all=$(awk '/Total generator execution time:/ { printf "%.3f s", $5; exit }' "$log")
  [ -n "$generator" ] || generator="not run"
  [ -n "$all" ] || all="-"
  warnings=$(awk '$2 == "Warning(s)" { print $1; exit }' "$log")
  printf '%-6s %9.2f s   %-12s %-12s %-14s %s\n' "$label" "$wall" "$compile" "$generator" "$all" "$warnings"
}

echo "Consumer build: $n .arch architectures, Torchwright $version, $(nproc) cores, $(dotnet --version) SDK"
printf '%-6s %11s   %-12s %-12s %-14s %s\n' "build" "wall" "CoreCompile" "Torchwright" "all generators" "warnings"
build full
build no-op
grep -q 'Skipping target "CoreCompile" because all output files are up-to-date' "$tmp/no-op.log" \
  || { echo "consumer-build: the no-op rebuild ran CoreCompile (and with it the generator); see $tmp/no-op.binlog" >&2; TW_KEEP=1; exit 1; }
sed -i 's/classes = 10$/classes = 11/' Net00.arch
build edit
echo "generator = ArchitectureGenerator's time in csc's ReportAnalyzer table (includes its first-use JIT: the compiler server is off)"
dotnet run --no-build | tail -1
