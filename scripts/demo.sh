#!/usr/bin/env bash
# The README's main command (`make run`). With no LLM endpoint configured (and
# the LLM agent is not part of this build yet), it solves the example
# formulations in examples/ with the in-process engine and says so.
set -u
bin=${1:-build/optagent}
cd "$(dirname "$0")/.."
echo "optagent: no LLM endpoint is used by this build; solving the example formulations"
echo "optagent: in examples/ with the formulation engine and GLPK instead."
echo
status=0
for f in examples/*.json; do
  echo "== $f"
  "$bin" solve "$f"
  rc=$?
  # exit 1 is expected for the examples that show diagnostics
  case "$f" in *typo*|*nonlinear*) [ $rc -eq 1 ] || status=1 ;; *) [ $rc -eq 0 ] || status=1 ;; esac
  echo
done
echo "optagent: try 'build/optagent solve --json examples/furniture.json' or"
echo "optagent: 'build/optagent solve examples/transport.json --export /tmp/transport.mod'."
exit $status
