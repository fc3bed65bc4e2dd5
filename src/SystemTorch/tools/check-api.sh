#!/usr/bin/env bash
# Verifies SystemTorch against the real TorchSharp API (maintainer tool; needs network access to nuget.org
# for Google.Protobuf/SharpZipLib and a checkout of dotnet/TorchSharp):
#   1. builds TorchSharp's managed assembly from source (no native code is needed to compile it),
#   2. compares every public member SystemTorch declares on a TorchSharp type with TorchSharp's
#      (name, parameter types, parameter names, defaults) -- expect "0 differences",
#   3. compiles the SystemTorch tests, acceptance program and benchmark against the real TorchSharp.dll.
# Usage: check-api.sh /path/to/TorchSharp/checkout
set -euo pipefail
ts_src=${1:?usage: check-api.sh <TorchSharp checkout>}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
work=$(mktemp -d)
echo '<Project></Project>' > "$work/Directory.Build.props"
mkdir -p "$work/ts" "$work/consumer"
cp -r "$ts_src/src/TorchSharp" "$work/ts/src"
rm -rf "$work/ts/src/TorchVision" "$work/ts/src/Utils/tensorboard" "$work/ts/src/TorchSharp.csproj"
grep -rl "using SkiaSharp" "$work/ts/src" | xargs -r rm
cp "$here/TorchSharpRef.csproj.template" "$work/ts/TorchSharpRef.csproj"
dotnet build -c Release "$work/ts" -v q -nologo
dotnet build -c Release "$repo/src/SystemTorch" -v q -nologo
dotnet run --project "$here/ApiCheck" -- "$repo/src/SystemTorch/bin/Release/net10.0/SystemTorch.dll" "$work/ts/bin/Release/net10.0/TorchSharp.dll"
cp "$here/Consumer.csproj.template" "$work/consumer/Consumer.csproj"
dotnet build "$work/consumer" -p:RepoRoot="$repo" -p:TorchSharpDll="$work/ts/bin/Release/net10.0/TorchSharp.dll" -v q -nologo
echo "SystemTorch consumer code compiles against the real TorchSharp."
