#!/usr/bin/env bash
# Builds every libFuzzer target in Fuzz/ and runs each for N seconds (default 30), one after another.
#   scripts/fuzz.sh              # 30 s per target
#   scripts/fuzz.sh 300          # 5 min per target
#   scripts/fuzz.sh 60 FuzzPrisma FuzzConfig   # only these targets
# The corpus in Fuzz/corpus/<target>/ is used and grown (new inputs get SHA-1 names, ignored by git;
# only the named seeds are committed). Inputs in Fuzz/crashers/<target>/ are replayed first as regressions.
# Exits non-zero on any crash, leak, timeout or out-of-memory, printing the crashing input's path.
# Env: FUZZ_SEED (libFuzzer -seed; default 0 = random; make test uses 1 so CI walks a known path),
#      FUZZ_SANITIZERS (default fuzzer,address), FUZZ_TIMEOUT (per-input seconds, default 10),
#      FUZZ_SCRATCH (build directory, default .build-fuzz).
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
shift || true
all=(FuzzConfig FuzzK6Script FuzzPrisma FuzzRateLimitHeaders FuzzHealthBody FuzzExplain FuzzK6Record
     FuzzMigrationSQL FuzzMigrationPython FuzzMigrationCode FuzzMigrationChangelogs FuzzGRPC)
[ $# -gt 0 ] && targets=("$@") || targets=("${all[@]}")
sanitizers=${FUZZ_SANITIZERS:-fuzzer,address}
scratch=${FUZZ_SCRATCH:-.build-fuzz}
bin=$scratch/debug

for t in "${targets[@]}"; do
  echo "== build $t"
  PREFLIGHT_FUZZ=1 swift build -c debug --scratch-path "$scratch" -Xswiftc -sanitize="$sanitizers" --product "$t" 2>&1 \
    | grep -vE "Cannot export local symbol|^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Write|Linking|Wrapping|Merging|Building)"
  # The build's own status: a failed build must not fall back on the binary an earlier build left.
  built=${PIPESTATUS[0]}
  [ "$built" -eq 0 ] && test -x "$bin/$t" || { echo "build of $t failed (exit $built)" >&2; exit 2; }
done

# Test fixtures that are good seeds are read in place (libFuzzer reads every directory after the first,
# and writes only to the first), rather than copied into Fuzz/corpus/.
seed_dirs() {
  case $1 in
    FuzzExplain) echo Tests/PreflightExplainTests/Fixtures ;;
    FuzzK6Script) echo Tests/Fixtures/k6-scripts Tests/SampleStack/k6 ;;
    FuzzPrisma) echo Tests/Fixtures/prisma Tests/SampleStack/prisma ;;
  esac
}

status=0
for t in "${targets[@]}"; do
  corpus=Fuzz/corpus/$t
  artifacts=$scratch/artifacts/$t/
  mkdir -p "$corpus" "$artifacts"
  # Leak detection off: the Swift runtime's caches (metadata, Foundation singletons) look like leaks.
  opts=(-seed="${FUZZ_SEED:-0}" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -detect_leaks=0 -artifact_prefix="$artifacts" -print_final_stats=1)

  if compgen -G "Fuzz/crashers/$t/*" >/dev/null; then
    echo "== $t: replaying Fuzz/crashers/$t/"
    if ! "$bin/$t" "${opts[@]}" Fuzz/crashers/"$t"/* >"$scratch/$t.replay.log" 2>&1; then
      tail -40 "$scratch/$t.replay.log"
      echo "FAIL $t: a saved crasher in Fuzz/crashers/$t/ still crashes (log: $scratch/$t.replay.log)" >&2
      status=1
      continue
    fi
  fi

  echo "== $t: fuzzing for ${seconds}s"
  log=$scratch/$t.log
  start=$(date +%s)
  # shellcheck disable=SC2046
  "$bin/$t" "${opts[@]}" -max_total_time="$seconds" "$corpus" $(seed_dirs "$t") >"$log" 2>&1
  rc=$?
  elapsed=$(( $(date +%s) - start ))
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
  speed=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(echo "$last" | grep -oE 'cov: [0-9]+' || true)
  ft=$(echo "$last" | grep -oE 'ft: [0-9]+' || true)
  echo "   $t: ${elapsed}s, ${runs:-?} runs, ${speed:-?} exec/s, ${cov:-cov: ?}, ${ft:-ft: ?}, corpus $(ls "$corpus" | wc -l) files"
  if [ $rc -ne 0 ]; then
    grep -E '^==[0-9]+==ERROR|^SUMMARY|Fatal error|deadly signal|ALARM|out-of-memory' "$log" | head -5
    grep -E '^ +#[0-9]+ 0x' "$log" | head -25
    crash=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/Test unit written to //')
    echo "FAIL $t (exit $rc): crashing input: ${crash:-see $log}" >&2
    echo "   minimize: $bin/$t -minimize_crash=1 -runs=10000 -exact_artifact_path=Fuzz/crashers/$t/NAME ${crash:-INPUT}" >&2
    status=1
  fi
done
exit $status
