#!/usr/bin/env bash
# test-stress.sh: run `make test` STRESS_RUNS times (default 3) one after the other and print
# how many passed, to catch tests that flake on a busy machine (`make test-stress`).
#
#   STRESS_HOG=1     a CPU hog beside each run: one busy loop per core
#   STRESS_HOG=load  `make load` beside each run (started again if it ends first)
#
# Each run's log is .cache/stress/STAMP/run-N.log; the logs of the runs that passed are
# removed, those of the failing ones kept (and the load driver's, load.log, when it ran).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
RUNS="${STRESS_RUNS:-3}"
HOG="${STRESS_HOG:-}"
MAKE="${MAKE:-make}"
dir="$ROOT/.cache/stress/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$dir"

hog=""
# start_hog starts the hog in its own session, so stop_hog can stop all of it.
start_hog() {
  case "$HOG" in
    "" | 0) return ;;
    1) setsid bash -c 'for _ in $(seq "$(nproc)"); do (while :; do :; done) & done; wait' &
       hog=$! ;;
    load) setsid bash -c "while :; do $MAKE --no-print-directory load; sleep 1; done" >>"$dir/load.log" 2>&1 &
          hog=$! ;;
    *) echo "stress: STRESS_HOG=$HOG: want 1 (a CPU hog) or load" >&2; exit 2 ;;
  esac
}

# stop_hog terminates the hog's session (the load driver's stack goes with it: it is tied to
# the driver's life) and kills what is left after 30 s.
stop_hog() {
  [[ -n "$hog" ]] || return 0
  kill -TERM -- "-$hog" 2>/dev/null
  for _ in $(seq 1 300); do
    kill -0 -- "-$hog" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$hog" 2>/dev/null
  wait "$hog" 2>/dev/null
  hog=""
}
trap 'stop_hog' EXIT
trap 'exit 130' INT TERM

# Install and build once before any hog starts: make load and make test would otherwise both
# install into .cache/ at once on a fresh clone.
"$MAKE" --no-print-directory tools build >"$dir/install.log" 2>&1 || {
  echo "stress: make tools build failed (log ${dir#"$ROOT"/}/install.log)" >&2
  exit 1
}
rm -f "$dir/install.log"

passed=0 durations=() failed=()
for i in $(seq 1 "$RUNS"); do
  start_hog
  log="$dir/run-$i.log"
  echo "stress: run $i/$RUNS${HOG:+ (hog: $HOG)}, log ${log#"$ROOT"/}"
  start=$SECONDS
  "$MAKE" --no-print-directory test >"$log" 2>&1
  status=$?
  took=$((SECONDS - start))
  stop_hog
  durations+=("${took}s")
  if ((status == 0)); then
    passed=$((passed + 1))
    rm -f "$log"
    echo "stress: run $i passed in ${took}s"
  else
    failed+=("${log#"$ROOT"/}")
    echo "stress: run $i FAILED in ${took}s:"
    grep -E -- '^(--- FAIL|FAIL|panic:)|^fuzz: .*failed' "$log" | head -n 20 | sed 's/^/  /'
  fi
done

echo "stress: $passed/$RUNS runs passed (${durations[*]})${HOG:+, hog: $HOG}"
if ((${#failed[@]} > 0)); then
  echo "stress: logs of the failing runs: ${failed[*]}"
  exit 1
fi
rmdir "$dir" 2>/dev/null
exit 0
