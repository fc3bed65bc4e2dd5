#!/usr/bin/env bash
# The main job (README). For now: install what is missing (setup.sh), build the CLI, check the zoo, and
# summarise BoTNet-50 and the c5 placement sweep. (A later issue replaces this with the training sweep;
# add steps at the end.)
set -euo pipefail
cd "$(dirname "$0")"
bash ./setup.sh

dotnet build src/Cli/Cli.csproj -c Release --nologo -v quiet
torchwright() { dotnet src/Cli/bin/Release/net10.0/torchwright.dll "$@"; }

torchwright check architectures
torchwright summary architectures/botnet50.arch
torchwright summary architectures/sweeps/bot-c5-placement.arch
