#!/usr/bin/env bash
# Builds the loader fuzz harnesses (tests/fuzz/) with clang's libFuzzer, AddressSanitizer and UBSan
# and fuzzes each for SECONDS (default 60), starting from a copy of tests/fuzz/corpus/<harness>/.
# Exit 1 on the first crash (its input is left in build/fuzz/crash-<harness>-*).
#
#   bash scripts/fuzz.sh [SECONDS] [harness ...]      harnesses: linqs graph_list safetensors molecule_files
#   FUZZ_SEED=N (default 1) fixes libFuzzer's random seed, so a short run (CI) repeats the same inputs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_EACH="${1:-60}"
shift || true
HARNESSES=("$@")
[ ${#HARNESSES[@]} -eq 0 ] && HARNESSES=(linqs graph_list safetensors molecule_files)

CLANG=""
for c in clang++ clang++-14; do
  if command -v "$c" > /dev/null 2>&1; then CLANG="$c"; break; fi
done
if [ -z "$CLANG" ]; then
  echo "fuzz: clang++ not found (apt-get install clang)" >&2
  exit 2
fi
OUT=build/fuzz
mkdir -p "$OUT"
FLAGS=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -Iinclude -Itests/fuzz -I/usr/include/eigen3)

pids=()
for h in "${HARNESSES[@]}"; do
  extra=()
  [ "$h" = molecule_files ] && extra=(-I/usr/include/rdkit)
  "$CLANG" "${FLAGS[@]}" "${extra[@]}" "tests/fuzz/fuzz_$h.cpp" -o "$OUT/fuzz_$h" -lz &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done

status=0
for h in "${HARNESSES[@]}"; do
  work="$OUT/corpus_$h"
  rm -rf "$work" && mkdir -p "$work" && cp tests/fuzz/corpus/"$h"/* "$work"/
  log="$OUT/fuzz_$h.log"
  if "$OUT/fuzz_$h" -seed="${FUZZ_SEED:-1}" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$OUT/crash-$h-" "$work" > "$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || true)
    echo "fuzz $h: ${SECONDS_EACH} s, ${runs:-?} executions, coverage ${cov:-?} edges, no crash"
  else
    echo "fuzz $h: CRASH (log $log, input $OUT/crash-$h-*)" >&2
    tail -40 "$log" >&2
    status=1
  fi
done
exit $status
