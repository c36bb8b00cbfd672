#!/usr/bin/env bash
# Installs the Debian bookworm packages mgvae needs, only those not yet installed.
# apt-get update runs only when something is missing. Run as root (or with sudo available).
set -euo pipefail

# One list; add packages here.
MGVAE_APT_PACKAGES="build-essential cmake libeigen3-dev catch2 libbenchmark-dev nlohmann-json3-dev libcli11-dev libfmt-dev zlib1g-dev libomp-dev librdkit-dev rdkit-data libboost-dev clang"

missing=()
for p in $MGVAE_APT_PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup: missing packages (${missing[*]}) and not root; install them yourself" >&2
    exit 1
  fi
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
