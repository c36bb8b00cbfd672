#!/usr/bin/env bash
# Builds and runs the Google Benchmark executables (release preset, -march=native).
# Usage: bash scripts/bench.sh [name ...]   (name = benchmarks/<name>.bench.cpp; default: all)
# Extra benchmark flags can be passed in BENCH_ARGS, e.g. BENCH_ARGS="--benchmark_repetitions=5".
# JSON results go to build/release/bench-results/<name>.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The environment may force OpenBLAS to AVX2 kernels (TOOLCHAIN.md, benchmark gotcha 1).
unset OPENBLAS_CORETYPE

bash scripts/setup.sh
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
cmake --preset release -DMGVAE_BUILD_BENCHMARKS=ON

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in benchmarks/*.bench.cpp; do
    [ -e "$f" ] || continue
    b=$(basename "$f"); names+=("${b%.bench.cpp}")
  done
fi
if [ ${#names[@]} -eq 0 ]; then
  echo "bench: no benchmarks/*.bench.cpp yet" >&2
  exit 1
fi

targets=(); for n in "${names[@]}"; do targets+=("${n}_bench"); done
cmake --build --preset release --target "${targets[@]}"

out=build/release/bench-results
mkdir -p "$out"
echo "bench: $(date -u +%FT%TZ) host=$(hostname) nproc=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${names[@]}"; do
  echo "== ${n}_bench"
  # shellcheck disable=SC2086
  "build/release/benchmarks/${n}_bench" --benchmark_out="$out/$n.json" --benchmark_out_format=json ${BENCH_ARGS:-}
done
