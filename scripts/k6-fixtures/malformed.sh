#!/usr/bin/env bash
# Hand-cut malformed inputs, derived from the genuine fixtures (run generate.sh first).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
f="$here/../../Tests/PreflightExplainTests/Fixtures"
m="$f/malformed"
mkdir -p "$m"
# the last line cut in the middle, as when k6 is killed mid-write
{ head -n 40 "$f/pass.out.json"; sed -n 41p "$f/pass.out.json" | head -c 90; } > "$m/truncated-last-line.out.json"
# one garbage line in the middle (and one blank line, which is not garbage)
{ head -n 20 "$f/pass.out.json"; echo 'INFO[0001] this is a log line, not JSON'; echo; tail -n +21 "$f/pass.out.json"; } > "$m/garbage-line.out.json"
# every line is JSON, none is a k6 record
printf '{"hello":1}\n{"hello":2}\n{"hello":3}\n' > "$m/no-records.jsonl"
# a PNG-ish binary
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00' > "$m/image.png"
: > "$m/empty.json"
# JSON that is not k6 output
printf '{\n  "name": "chat-api",\n  "version": "1.0.0",\n  "dependencies": {}\n}\n' > "$m/package.json"
# a gzip stream cut in half
head -c 2000 "$f/ratelimit.out.json.gz" > "$m/cut.out.json.gz"
# deep nesting must not exhaust the stack
{ head -n 2 "$f/pass.out.json"; python3 -c 'print("{\"a\":" + "[" * 100000)'; tail -n +3 "$f/pass.out.json"; } > "$m/deep-nesting.out.json"
ls -l "$m"
