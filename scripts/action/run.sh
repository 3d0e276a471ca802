#!/usr/bin/env bash
# action.yml, step "run": the gate with GitHub's conventions. Runs
#   preflight --format github --report junit=… --report sarif=… --report json=… [--config] [--wait] [--strict] ARGS
# (annotations on stdout, the Markdown report appended to $GITHUB_STEP_SUMMARY by preflight itself) and writes
# verdict, exit-code, root-causes, junit, sarif and json to $GITHUB_OUTPUT. Exits with preflight's code, or 0 on a
# no-go when INPUT_FAIL_ON_NO_GO is false; a usage or config error (2) always fails the step.
set -uo pipefail
: "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set (run by GitHub Actions, or point it at a file)}"
bin=${PREFLIGHT:-preflight}
junit=${INPUT_JUNIT:-preflight-junit.xml}
sarif=${INPUT_SARIF:-preflight.sarif}
json=${INPUT_JSON:-preflight.json}

args=(--format github --report "junit=$junit" --report "sarif=$sarif" --report "json=$json")
[ -z "${INPUT_CONFIG:-}" ] || args+=(--config "$INPUT_CONFIG")
[ -z "${INPUT_WAIT:-}" ] || args+=(--wait "$INPUT_WAIT")
case ${INPUT_STRICT:-false} in
  true) args+=(--strict) ;;
  false|"") ;;
  *) echo "::error title=preflight action::strict must be true or false, not \"$INPUT_STRICT\""; exit 2 ;;
esac
# Extra arguments, split on whitespace (no globbing): "--only port,health --timeout 5s".
set -f
# shellcheck disable=SC2206
extra=(${INPUT_ARGS:-})
set +f

"$bin" "${args[@]}" "${extra[@]}"
code=$?

case $code in
  0) verdict=go ;;
  1|3) verdict=no-go ;;
  *) verdict=error ;;
esac
causes=
if [ -s "$json" ]; then
  # The report's keys are sorted: the top level's rootCauses is the last one in the file.
  causes=$(grep -o '"rootCauses":\[[^]]*\]' "$json" | tail -n1 | sed -e 's/^"rootCauses":\[//' -e 's/\]$//' -e 's/"//g')
fi
{
  echo "verdict=$verdict"
  echo "exit-code=$code"
  echo "root-causes=$causes"
  echo "junit=$junit"
  echo "sarif=$sarif"
  echo "json=$json"
} >>"$GITHUB_OUTPUT"
echo "preflight: verdict $verdict (exit $code)${causes:+, fix first: $causes}"

if [ "$verdict" = no-go ] && [ "${INPUT_FAIL_ON_NO_GO:-true}" = false ]; then exit 0; fi
exit "$code"
