#!/usr/bin/env bash
# Installs what Torchwright needs on a Debian machine, when it is missing. Idempotent and quick when everything is
# present; needs root (or sudo) only when something must be installed.
#   bash setup.sh          what building and running need: the .NET SDK (checked, not installed). The engine,
#                          TorchSharp-cpu with libtorch 2.10, comes from NuGet when the projects restore.
#   bash setup.sh --tests  also PyTorch + torchvision (Debian's python3-torch 1.13: the references of the parity tests
#                          and the PyTorch side of `torchwright bench`) and Chromium (run headless by the test that
#                          renders the HTML sweep report) and PostgreSQL (the distributed-sweep tests start a
#                          throwaway cluster of their own on a private socket; the system one is not used). test.sh
#                          and CI use this.
set -euo pipefail

packages=()
case "${1:-}" in
  "") ;;
  --tests) packages+=(python3-torch python3-torchvision chromium postgresql) ;;
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

command -v dotnet >/dev/null || { echo "setup: the .NET SDK (dotnet, 10.0 or later) is required" >&2; exit 1; }
