#!/usr/bin/env bash
# The test command (README): builds and runs every test project in the solution.
set -euo pipefail
cd "$(dirname "$0")"
dotnet test Generator.sln -c Release --logger "console;verbosity=normal" "$@"
