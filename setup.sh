#!/usr/bin/env bash
# Installs what Torchwright needs on a Debian machine, when it is missing. Idempotent and quick when everything is
# present; needs root (or sudo) only when something must be installed.
#   bash setup.sh          what building and running need: libtorch (C++ headers + CMake config, CPU), CMake and g++
#                          for the SystemTorch shim. This is all the main job (run.sh) needs.
#   bash setup.sh --tests  also PyTorch + torchvision (the reference tests, `torchwright bench`) and Chromium (run
#                          headless by the test that renders the HTML sweep report). test.sh and CI use this.
set -euo pipefail

packages=(libtorch-dev cmake g++)
case "${1:-}" in
  "") ;;
  --tests) packages+=(python3-torch python3-torchvision chromium) ;;
  *) echo "setup: unknown option '$1' (use no option, or --tests)" >&2; exit 2 ;;
esac

need=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} (apt-get)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

command -v dotnet >/dev/null || { echo "setup: the .NET SDK (dotnet, 8.0 or later) is required" >&2; exit 1; }
