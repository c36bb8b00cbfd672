#!/usr/bin/env bash
# Kill-and-resume bit-identity test for a trainer's `--resume DIR` (ctest label "resume").
#
#   resume_test.sh [--needs PATH] WORKDIR CHECKPOINTS -- TRAINER ARGS...
#
# With --needs PATH the test is skipped (exit 77) when PATH does not exist (a data set).
# (a) runs TRAINER ARGS --out WORKDIR/full --resume WORKDIR/full to completion (uninterrupted; it
#     writes CHECKPOINTS training states in all); (b) runs the same command in WORKDIR/res and
#     kills it with SIGKILL once K checkpoints have been written (K random in 1..CHECKPOINTS-1, or
#     $RESUME_KILL_AFTER), i.e. somewhere in the following epoch; (c) reruns it with the same
#     command line to completion; (d) compares: metrics.json without its timing fields
#     ("...seconds...": values, or whole objects), output paths ("checkpoint") and the command line ("command", it names the
#     output directory), every other output file byte for byte, and
#     the tensors (parameters, optimiser moments, extras) of the final train_state.safetensors.
# Exit 0 = bit-identical, 1 = differs or failed, 77 = skipped.
set -u
if [ "${1:-}" = "--needs" ]; then
  if [ ! -e "$2" ]; then
    echo "SKIP: $2 not found"
    exit 77
  fi
  shift 2
fi
if [ $# -lt 4 ] || [ "$3" != "--" ]; then
  echo "usage: $0 WORKDIR CHECKPOINTS -- TRAINER ARGS..." >&2
  exit 2
fi
work=$1
ncp=$2
shift 3
rm -rf "$work"
mkdir -p "$work"

echo "== (a) uninterrupted: $* --out $work/full --resume $work/full"
"$@" --out "$work/full" --resume "$work/full" >"$work/full.log" 2>&1
rc=$?
if [ $rc -eq 77 ]; then
  cat "$work/full.log"
  exit 77
fi
if [ $rc -ne 0 ]; then
  cat "$work/full.log"
  echo "FAIL: uninterrupted run exited $rc"
  exit 1
fi
got=$(grep -c '^checkpoint: ' "$work/full.log")
if [ "$got" -ne "$ncp" ]; then
  echo "FAIL: the uninterrupted run wrote $got checkpoints, expected $ncp"
  exit 1
fi

kill_after=${RESUME_KILL_AFTER:-$((1 + RANDOM % (ncp - 1)))}
killed=0
for attempt in 1 2 3 4; do  # a fast run can finish before the kill lands: retry, killing earlier
  rm -rf "$work/res"
  echo "== (b) same command in $work/res, SIGKILL after checkpoint $kill_after of $ncp (set RESUME_KILL_AFTER=$kill_after to repeat)"
  "$@" --out "$work/res" --resume "$work/res" >"$work/res1.log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    n=$(grep -c '^checkpoint: ' "$work/res1.log")
    [ "$n" -ge "$kill_after" ] && break
    sleep 0.002
  done
  if kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null
    killed=1
    break
  fi
  wait "$pid"
  echo "   the run ended (exit $?) before the kill landed; retrying"
  kill_after=$(((kill_after + 1) / 2))
done
[ $killed -eq 1 ] || { echo "FAIL: could not kill the run before it ended"; exit 1; }
n=$(grep -c '^checkpoint: ' "$work/res1.log")
echo "   killed after $n checkpoint(s): $(grep '^checkpoint: ' "$work/res1.log" | tail -1)"
[ -f "$work/res/train_state.safetensors" ] || { echo "FAIL: no train_state.safetensors after the kill"; exit 1; }

echo "== (c) rerun with the same command line"
"$@" --out "$work/res" --resume "$work/res" >"$work/res2.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
  cat "$work/res2.log"
  echo "FAIL: resumed run exited $rc"
  exit 1
fi
grep -m1 '^resuming from ' "$work/res2.log" || { cat "$work/res2.log"; echo "FAIL: the rerun did not resume"; exit 1; }

echo "== (d) compare"
status=0
# (a timing key holding an object, e.g. "seconds_per_epoch": {...}, is dropped with its whole block)
strip_json() {
  awk '
    skip { if ($0 ~ "^" ind "}") skip = 0; next }
    /"[a-z_]*seconds[a-z_]*": *\{ *$/ { match($0, /^ */); ind = substr($0, 1, RLENGTH); skip = 1; next }
    /"[a-z_]*seconds[a-z_]*":|"checkpoint":|"command":/ { next }
    { print }' "$1"
}
# the data section of a safetensors file (tensor bytes; the header holds timing metadata)
st_data() { local n; n=$(od -An -t u8 -N8 "$1" | tr -d ' '); tail -c +$((n + 9)) "$1"; }
for f in "$work"/full/*; do
  b=$(basename "$f")
  g="$work/res/$b"
  if [ ! -f "$g" ]; then
    echo "DIFF: $b missing after resume"
    status=1
    continue
  fi
  case "$b" in
    *.json) if ! diff <(strip_json "$f") <(strip_json "$g") >"$work/diff_$b.txt"; then
              echo "DIFF: $b (timing fields removed):"; head -20 "$work/diff_$b.txt"; status=1
            else echo "   same: $b (timing fields removed)"; fi ;;
    train_state.safetensors)
            if ! cmp -s <(st_data "$f") <(st_data "$g"); then echo "DIFF: $b tensors"; status=1
            else echo "   same: $b tensors (parameters, optimiser state, extras)"; fi ;;
    *.tmp*) ;;
    *) if ! cmp -s "$f" "$g"; then echo "DIFF: $b"; status=1; else echo "   same: $b"; fi ;;
  esac
done
if [ $status -eq 0 ]; then echo "PASS: resumed run is bit-identical"; else echo "FAIL: resumed run differs"; fi
exit $status
