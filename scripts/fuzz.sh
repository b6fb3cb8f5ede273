#!/usr/bin/env bash
# fuzz.sh PKG:FUNC[:EXECS]...: fuzz each target in turn (`make fuzz` passes FUZZ_TARGETS).
#
# Without FUZZTIME each target runs a fixed number of executions (-fuzztime=EXECSx, or
# FUZZ_EXECS when a target names none). A count has no wall-clock deadline, so a starved
# machine only makes the run slower: Go 1.26's fuzzing engine can report a bare
# "context deadline exceeded" when a -fuzztime duration expires while its workers are short
# of CPU (golang/go#75804, fixed in Go 1.27), a failure that is no bug of the target.
# FUZZTIME=1m explores each target for that long instead; a run that then fails with only
# that message (no failing input written, no panic) is retried once, and says so.
#
# A count run also bounds the minimizing of each new interesting input by a count
# (FUZZ_MINIMIZE, default 500x): by default Go spends up to a minute on each, which on a busy
# machine stalled a 250,000-execution run for two minutes.
# FUZZ_PARALLEL (default 2) caps the fuzzing workers: more than the cores only adds
# starvation. A real failure stops the run: the failing input is in PKG/testdata/fuzz/FUNC/.
set -uo pipefail

FUZZTIME="${FUZZTIME:-}"
FUZZ_EXECS="${FUZZ_EXECS:-50000}"
FUZZ_MINIMIZE="${FUZZ_MINIMIZE:-500x}"
FUZZ_PARALLEL="${FUZZ_PARALLEL:-2}"
GO="${GO:-go}"

# reproducers PKG FUNC lists the inputs saved for FUNC (seeds and failures).
reproducers() { ls "$1/testdata/fuzz/$2" 2>/dev/null | sort; }

# deadline_race OUTPUT succeeds when the failure in OUTPUT is only golang/go#75804: the fuzz
# target failed with the bare deadline message, and no input, panic or other failure came
# with it.
deadline_race() {
  grep -qE '^[[:space:]]+context deadline exceeded$' <<<"$1" &&
    ! grep -qE 'Failing input written|panic:|^[[:space:]]+[a-zA-Z_0-9]+\.go:[0-9]+:|hung or terminated|deadlocked' <<<"$1"
}

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

for target in "$@"; do
  IFS=: read -r pkg fn execs <<<"$target"
  if [[ -n "$FUZZTIME" ]]; then
    budget="$FUZZTIME" minimize=()
  else
    budget="${execs:-$FUZZ_EXECS}x" minimize=(-fuzzminimizetime="$FUZZ_MINIMIZE")
  fi
  for attempt in 1 2; do
    echo "fuzz $pkg $fn ($budget, -parallel $FUZZ_PARALLEL)"
    before="$(reproducers "$pkg" "$fn")"
    "$GO" test -run='^$' -fuzz="^$fn\$" -fuzztime="$budget" "${minimize[@]}" -parallel="$FUZZ_PARALLEL" "$pkg" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    out="$(cat "$log")"
    ((status == 0)) && break
    added="$(comm -13 <(echo "$before") <(reproducers "$pkg" "$fn"))"
    if [[ -n "$added" ]]; then
      echo "fuzz: $fn failed; the failing input is in $pkg/testdata/fuzz/$fn/: $added" >&2
      exit 1
    fi
    if ((attempt == 1)) && deadline_race "$out"; then
      echo "fuzz: $fn ended on a bare 'context deadline exceeded' with no failing input:" \
        "Go's fuzz-deadline race on a busy machine (golang/go#75804), not a bug; running it once more" >&2
      continue
    fi
    echo "fuzz: $fn failed (exit $status)" >&2
    exit 1
  done
done
