#!/usr/bin/env bash
# Side-by-side epoch timings of our trainers and the plain-PyTorch references (shared/anchors), on
# the same machine and thread count. Prints one line per model with both times (medians over
# --repeat runs, ours and PyTorch alternating) and the speed-up torch/ours (> 1: ours is faster).
#
#   benchmarks/compare_epoch.sh [--threads T] [--repeat R] [--train-size N] [--vgae-epochs E]
#                               [--only molgen|vgae] [--build DIR] [--anchors DIR] [--python PY] [--keep DIR]
#
#   molgen  one epoch of QM9 molecule generation, all-at-once second-order MGVAE, trainer defaults:
#           BUILD/molecule_generation --train-size N --epochs 1 --threads T (per-epoch seconds from its
#           metrics.json; sampling after training is cut to --samples 100, no per-epoch probe: neither
#           is inside the epoch timer) vs python3 ANCHORS/torch_molgen_epoch.py --train-size N
#           --threads T (last line epoch_seconds=...). Same subset and batch order (--seed 1).
#   vgae    Cora VGAE link prediction, E epochs (default 200), one seed:
#           BUILD/link_prediction --model vgae --epochs E --seeds 1 --threads T (mean training seconds
#           per epoch, evaluation excluded) vs python3 ANCHORS/torch_vgae.py --threads T --seeds 1
#           --epochs E (s_per_epoch_median, training step only).
#
# Defaults: T = 1, R = 3, N = 10000, BUILD = build/release, ANCHORS = ../shared/anchors (relative to
# the repository root), python = /usr/bin/python3 (Debian python3-torch and libopenblas0-pthread, see
# shared/anchors/README.md; python3-rdkit for the molecule reference, python3-sklearn for the VGAE
# one). OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset and OMP_NUM_THREADS=T for both sides. Run it
# on a quiet machine: the script prints the load average before it starts. Each run's output is kept
# under --keep DIR (default: a temporary directory, removed at the end unless a run failed).
set -euo pipefail

threads=1
repeat=3
train_size=10000
vgae_epochs=200
only=""
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$repo/build/release"
anchors="$repo/../shared/anchors"
python="/usr/bin/python3"
keep=""

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -n 's/^# \{0,1\}//p'; }
die() { echo "compare_epoch.sh: $*" >&2; exit 2; }
posint() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive integer, got '$2'"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="${2:?--threads needs a value}"; shift 2 ;;
    --repeat) repeat="${2:?--repeat needs a value}"; shift 2 ;;
    --train-size) train_size="${2:?--train-size needs a value}"; shift 2 ;;
    --vgae-epochs) vgae_epochs="${2:?--vgae-epochs needs a value}"; shift 2 ;;
    --only) only="${2:?--only needs a value}"; shift 2 ;;
    --build) build="${2:?--build needs a value}"; shift 2 ;;
    --anchors) anchors="${2:?--anchors needs a value}"; shift 2 ;;
    --python) python="${2:?--python needs a value}"; shift 2 ;;
    --keep) keep="${2:?--keep needs a value}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
posint --threads "$threads"
posint --repeat "$repeat"
posint --train-size "$train_size"
posint --vgae-epochs "$vgae_epochs"
case "$only" in ""|molgen|vgae) ;; *) die "--only must be molgen or vgae, got '$only'" ;; esac
run_molgen=1; run_vgae=1
[[ "$only" == vgae ]] && run_molgen=0
[[ "$only" == molgen ]] && run_vgae=0

# ---- prerequisites (fail before any timing starts) ----------------------------------------------
need_bin() {
  [[ -x "$build/$1" ]] || die "$build/$1 not found or not executable: build it first
  (cmake --preset release && cmake --build --preset release --target $1${2:+; $2}), or pass --build DIR"
}
need_file() { [[ -f "$1" ]] || die "$1 not found (PyTorch reference; pass --anchors DIR)"; }
command -v "$python" >/dev/null || die "$python not found (the references run with Debian's python3: apt-get install python3-torch)"
"$python" -c "import torch" 2>/dev/null ||
  die "$python cannot import torch: apt-get install python3-torch libopenblas0-pthread (shared/anchors/README.md)"
if [[ $run_molgen == 1 ]]; then
  need_bin molecule_generation "needs RDKit"
  need_file "$anchors/torch_molgen_epoch.py"
  "$python" -c "import rdkit" 2>/dev/null ||
    die "$python cannot import rdkit (torch_molgen_epoch.py reads QM9 with it): apt-get install python3-rdkit"
fi
if [[ $run_vgae == 1 ]]; then
  need_bin link_prediction
  need_file "$anchors/torch_vgae.py"
  "$python" -c "import sklearn" 2>/dev/null || die "$python cannot import sklearn (torch_vgae.py needs it): apt-get install python3-sklearn"
fi

cores="$(getconf _NPROCESSORS_ONLN)"  # before OMP_NUM_THREADS is set (nproc honours it)
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export OMP_NUM_THREADS="$threads"

if [[ -n "$keep" ]]; then
  mkdir -p "$keep"
  work="$(cd "$keep" && pwd)"
  cleanup() { :; }
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/compare_epoch.XXXXXX")"
  cleanup() { rm -rf "$work"; }
fi

fail() {  # fail LOG WHAT
  echo "compare_epoch.sh: $2 failed; last lines of $1:" >&2
  tail -n 20 "$1" >&2 || true
  echo "(logs kept in $work)" >&2
  exit 1
}

# median of the arguments (mean of the two middle values for an even count)
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {if (NR % 2) printf "%.6g", v[(NR + 1) / 2]; else printf "%.6g", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# "key": number from a JSON file (first occurrence)
json_number() { grep -o "\"$2\": *[-0-9.eE+]*" "$1" | head -n 1 | sed 's/.*: *//'; }

# ---- one run of each side ---------------------------------------------------------------------
ours_molgen() {  # -> seconds of the epoch
  local out="$work/molgen_ours_$1" log="$work/molgen_ours_$1.log"
  "$build/molecule_generation" --train-size "$train_size" --epochs 1 --threads "$threads" --samples 100 \
    --eval-samples 0 --no-novelty-all --interp-steps 0 --out "$out" >"$log" 2>&1 || fail "$log" "molecule_generation"
  local s
  s="$(json_number "$out/metrics.json" seconds_per_epoch 2>/dev/null || true)"
  [[ -n "$s" ]] || s="$(grep -o '[0-9.]* s/epoch' "$log" | head -n 1 | cut -d' ' -f1 || true)"
  [[ -n "$s" ]] || fail "$log" "reading the epoch time of molecule_generation"
  echo "$s"
}
torch_molgen() {
  local log="$work/molgen_torch_$1.log"
  (cd "$work" && "$python" "$anchors/torch_molgen_epoch.py" --train-size "$train_size" --threads "$threads") >"$log" 2>&1 ||
    fail "$log" "torch_molgen_epoch.py"
  local s
  s="$(tail -n 1 "$log" | sed -n 's/^epoch_seconds=//p')"
  [[ -n "$s" ]] || fail "$log" "reading epoch_seconds= of torch_molgen_epoch.py"
  echo "$s"
}
ours_vgae() {
  local out="$work/vgae_ours_$1" log="$work/vgae_ours_$1.log"
  "$build/link_prediction" --model vgae --epochs "$vgae_epochs" --seeds 1 --threads "$threads" --out "$out" \
    >"$log" 2>&1 || fail "$log" "link_prediction"
  local s
  s="$(json_number "$out/metrics.json" seconds_per_epoch 2>/dev/null || true)"
  [[ -n "$s" ]] || s="$(sed -n 's/^RESULT.*, \([0-9.]*\) s\/epoch.*/\1/p' "$log" | head -n 1)"
  [[ -n "$s" ]] || fail "$log" "reading the s/epoch of link_prediction"
  echo "$s"
}
torch_vgae() {
  local log="$work/vgae_torch_$1.log"
  (cd "$work" && "$python" "$anchors/torch_vgae.py" --threads "$threads" --seeds 1 --epochs "$vgae_epochs") >"$log" 2>&1 ||
    fail "$log" "torch_vgae.py"
  local s
  s="$(grep -o 's_per_epoch_median=[0-9.eE+-]*' "$log" | head -n 1 | cut -d= -f2)"
  [[ -n "$s" ]] || fail "$log" "reading s_per_epoch_median of torch_vgae.py"
  echo "$s"
}

# ---- run ----------------------------------------------------------------------------------------
echo "compare_epoch: $cores cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), threads $threads, repeat $repeat"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (timings are only meaningful on a quiet machine)"
echo "ours: $build; PyTorch: $("$python" -c 'import torch; print(torch.__version__)') via $python; logs: $work"

declare -a rows=()
if [[ $run_molgen == 1 ]]; then
  o=(); t=()
  for r in $(seq 1 "$repeat"); do
    o+=("$(ours_molgen "$r")")
    t+=("$(torch_molgen "$r")")
    echo "  molgen run $r/$repeat: ours ${o[-1]} s, torch ${t[-1]} s" >&2
  done
  blas="$(grep -o 'BLAS .*' "$work/molgen_torch_1.log" | head -n 1 || true)"
  [[ -n "$blas" ]] && echo "torch_molgen_epoch.py: $blas"
  rows+=("qm9_molgen_epoch(N=$train_size)|$(median "${o[@]}")|$(median "${t[@]}")")
fi
if [[ $run_vgae == 1 ]]; then
  o=(); t=()
  for r in $(seq 1 "$repeat"); do
    o+=("$(ours_vgae "$r")")
    t+=("$(torch_vgae "$r")")
    echo "  vgae run $r/$repeat: ours ${o[-1]} s/epoch, torch ${t[-1]} s/epoch" >&2
  done
  rows+=("cora_vgae_epoch(E=$vgae_epochs)|$(median "${o[@]}")|$(median "${t[@]}")")
fi

printf '%-28s %14s %14s %18s\n' "model" "ours_s" "torch_s" "speedup(torch/ours)"
for row in "${rows[@]}"; do
  IFS='|' read -r name ours torch <<<"$row"
  ratio="$(awk -v a="$ours" -v b="$torch" 'BEGIN {if (a > 0) printf "%.2f", b / a; else print "n/a"}')"
  printf '%-28s %14s %14s %18s\n' "$name" "$ours" "$torch" "$ratio"
done
cleanup
