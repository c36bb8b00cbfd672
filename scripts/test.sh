#!/usr/bin/env bash
# One command for the test suite: installs missing packages, then configures, builds and runs
# ctest with the release preset (build/release). Extra arguments are passed to ctest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
cmake --preset release
cmake --build --preset release
ctest --preset release "$@"
