#!/usr/bin/env bash
# Packs the three packages into artifacts/packages (README, "Use it in your project"):
#   Torchwright.<version>.nupkg          the library (src/Runtime), the generator (src/Generator + src/Dsl) and buildTransitive targets
#   Torchwright.Sweeps.<version>.nupkg   the sweep engine and its SQLite/PostgreSQL results stores (src/Sweeps)
#   Torchwright.Tool.<version>.nupkg     the dotnet tool `torchwright` (src/Cli)
# Extra arguments go to dotnet pack (e.g. -p:VersionSuffix=dev.1, or -p:RepositoryUrl=https://...).
set -euo pipefail
cd "$(dirname "$0")"
out=artifacts/packages
rm -f "$out"/Torchwright.*.nupkg
dotnet pack src/Runtime/Runtime.csproj -c Release --nologo -o "$out" "$@"
dotnet pack src/Sweeps/Sweeps.csproj -c Release --nologo -o "$out" "$@"
dotnet pack src/Cli/Cli.csproj -c Release --nologo -o "$out" "$@"
ls -l "$out"
