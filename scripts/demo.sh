#!/usr/bin/env bash
# One command for the demo: installs missing packages, builds the demo example with the release
# preset and runs it. Arguments are passed to the demo (try --help).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -d examples/link_prediction ]; then
  demo=link_prediction
elif [ -f examples/demo.cpp ] || [ -d examples/demo ]; then
  demo=demo
else
  echo "demo: no demo example yet (expected examples/link_prediction/ or examples/demo.cpp)" >&2
  exit 1
fi

bash scripts/setup.sh
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
cmake --preset release
cmake --build --preset release --target "$demo"
exec "build/release/$demo" "$@"
