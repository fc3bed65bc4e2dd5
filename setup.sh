#!/usr/bin/env bash
# Installs what Torchwright needs on a Debian machine, when it is missing: libtorch (C++ headers + CMake config,
# CPU) and CMake for the SystemTorch shim, PyTorch + torchvision for the reference tests and benchmarks, and Chromium
# (run headless by the test that renders the HTML sweep report).
# Idempotent and quick when everything is present. Needs root (or sudo) only when something must be installed.
set -euo pipefail

need=()
for pkg in libtorch-dev cmake g++ python3-torch python3-torchvision chromium; do
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
