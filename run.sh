#!/usr/bin/env bash
# The main job (README): the BoTNet paper's c5 placement ablation, trained on the embedded shapes dataset.
# Installs what is missing (setup.sh), builds the CLI, checks the zoo, then trains the four variants of
# architectures/sweeps/bot-c5-placement.arch (c5 MHSA masks [0,0,0], [0,0,1], [0,1,1], [1,1,1]), each under three
# seeds, into results/bot-c5-placement.db and prints the comparison table: per variant the mean eval accuracy with its
# 95 % interval and Welch's t-test against [0,0,0] (Holm-corrected); an HTML report with charts is written next to it.
# The sweep is declared at the paper's scale (224 px, full width, 1000 classes); the --set options below fix a
# CPU-sized version of it for every variant (64 px shapes, 8 classes, an eighth of the width, two blocks in c2-c4 as
# in timm's 26-layer BoTNets; c5 keeps its three blocks, the ones the masks place) without changing the variant names. Running it again resumes: finished variants are kept (delete results/ to train afresh).
set -euo pipefail
cd "$(dirname "$0")"
bash ./setup.sh

dotnet build src/Cli/Cli.csproj -c Release --nologo -v quiet
torchwright() { dotnet src/Cli/bin/Release/net10.0/torchwright.dll "$@"; }

torchwright check architectures
mkdir -p results
torchwright sweep architectures/sweeps/bot-c5-placement.arch \
  --set input=3x64x64 --set width=0.125 --set 'depths=[2,2,2,3]' --set classes=8 \
  --dataset shapes --steps 1200 --batch 32 --lr 0.1 --warmup 0.1 --seed 0 --seeds 3 \
  --db results/bot-c5-placement.db --resume
torchwright report results/bot-c5-placement.db --format html --output results/bot-c5-placement.html
