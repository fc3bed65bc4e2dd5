#!/usr/bin/env bash
# The test command (README): installs what is missing (setup.sh), then builds and runs every test project.
# Extra arguments go to dotnet test (e.g. ./test.sh --filter FullyQualifiedName~Torchwright.Cli).
set -euo pipefail
cd "$(dirname "$0")"
bash ./setup.sh --tests
# --blame: if a test host dies (a native crash in libtorch), the log names the test that was running.
dotnet test Generator.sln -c Release --logger "console;verbosity=normal" --blame "$@"
