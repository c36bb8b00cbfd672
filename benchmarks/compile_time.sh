#!/usr/bin/env bash
# Compile time of a user's translation unit (default examples/tutorial_mgvae.cpp) with g++ -O2:
# header-only, with MGVAE_PREBUILT (the mgvae::prebuilt library's extern instantiations), and with
# MGVAE_PREBUILT plus a precompiled <mgvae/mgvae.hpp>; also a file that only includes the header.
# Each variant is compiled REPEAT times (default 3) and the fastest wall time is printed.
#
#   bash benchmarks/compile_time.sh [source.cpp]        (from the repository root; needs g++, Eigen)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SRC="${1:-examples/tutorial_mgvae.cpp}"
REPEAT="${REPEAT:-3}"
CXX="${CXX:-g++}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
FLAGS=(-std=c++20 -O2 -fopenmp -DMGVAE_WITH_OPENMP=1 -Iinclude -Iexamples -I/usr/include/eigen3)

best() {  # best wall time of REPEAT runs of "$@"
  local b=""
  for _ in $(seq "$REPEAT"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" > /dev/null 2>&1
    t1=$(date +%s.%N)
    b=$(echo "$t0 $t1 ${b:-1e9}" | awk '{d = $2 - $1; print (d < $3 ? d : $3)}')
  done
  printf '%.2f' "$b"
}

printf '#include <mgvae/mgvae.hpp>\nint main() { return 0; }\n' > "$TMP/include_only.cpp"
printf '#include <mgvae/mgvae.hpp>\n' > "$TMP/pch.hpp"
"$CXX" "${FLAGS[@]}" -DMGVAE_PREBUILT=1 -x c++-header "$TMP/pch.hpp" -o "$TMP/pch.hpp.gch"

echo "compile time of $SRC ($CXX -O2 -c, best of $REPEAT):"
echo "  header-only:                         $(best "$CXX" "${FLAGS[@]}" -c "$SRC" -o "$TMP/a.o") s"
echo "  MGVAE_PREBUILT:                      $(best "$CXX" "${FLAGS[@]}" -DMGVAE_PREBUILT=1 -c "$SRC" -o "$TMP/b.o") s"
echo "  MGVAE_PREBUILT + precompiled header: $(best "$CXX" "${FLAGS[@]}" -DMGVAE_PREBUILT=1 -include "$TMP/pch.hpp" -Winvalid-pch -c "$SRC" -o "$TMP/c.o") s"
echo "  a file that only includes <mgvae/mgvae.hpp>: $(best "$CXX" "${FLAGS[@]}" -c "$TMP/include_only.cpp" -o "$TMP/d.o") s"
