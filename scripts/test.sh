#!/usr/bin/env bash
# `make test`: build, run every Swift test (they start their own PostgreSQL clusters and HTTP
# fixtures on loopback), a short seeded fuzz run of every parser, then the sample stack's
# end-to-end scenarios against the built binary.
set -euo pipefail
cd "$(dirname "$0")/.."

set +e
swift build --build-tests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Write|Linking|Wrapping|Merging|Building)'
built=${PIPESTATUS[0]}
set -e
[ "$built" -eq 0 ] || { echo "make test: the build failed" >&2; exit 1; }
export PREFLIGHT_BIN=$PWD/.build/debug/preflight

status=0
swift test --skip-build 2>&1 | tee .build/swift-test.log | grep -vE '^(Test Suite|Test Case|◇|↳)' || true
grep -qE '✔ Test run with [0-9]+ tests? (in [0-9]+ suites? )?passed' .build/swift-test.log || status=1

# A short, seeded fuzz run of every parser (crashers in Fuzz/crashers/ are replayed first).
FUZZ_SEED=1 scripts/fuzz.sh "${FUZZ_SECONDS:-10}" || status=1

# The documented install command into a temporary PREFIX: binary, completions, man page.
scripts/test-install.sh || status=1

# preflight merge across network namespaces the test makes (three runners, one cut off): ~15 s; SKIPPED without root.
Tests/Network/netns-merge.sh || status=1

if [ -x Tests/SampleStack/run-scenarios.sh ]; then
  Tests/SampleStack/run-scenarios.sh || status=1
fi

# Predictions against real k6 runs of the same plans (issue 29): ~4 min; SKIPPED without k6.
Tests/SampleStack/predict-vs-k6.sh || status=1
exit $status
