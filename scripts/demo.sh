#!/usr/bin/env bash
# The README's main command (`make run`): a batch of example problems through
# the agent, then the accuracy report. With an LLM endpoint configured
# (OPTAGENT_BASE_URL / OPENAI_BASE_URL / the config file) it asks that LLM;
# without one it replays replies recorded for these problems and says so.
set -u
bin=${1:-build/optagent}
cd "$(dirname "$0")/.."
out=$(dirname "$bin")
db=$out/demo-runs.db
rm -f "$db" "$db-wal" "$db-shm"
config=${XDG_CONFIG_HOME:-$HOME/.config}/optagent/config
if [ -n "${OPTAGENT_BASE_URL:-}${OPENAI_BASE_URL:-}" ] || { [ -f "$config" ] && grep -q '^ *base_url' "$config"; }; then
  echo "optagent: solving the 12 example problems of examples/batch with the configured LLM endpoint"
  llm=()
else
  echo "optagent: no LLM endpoint is configured, so the 12 example problems of examples/batch"
  echo "optagent: are answered from replies recorded for them (examples/batch/replies.jsonl):"
  echo "optagent: the agent still extracts, checks, solves and corrects every formulation for real."
  echo "optagent: set OPTAGENT_BASE_URL and OPTAGENT_MODEL (see README) to ask a real LLM instead."
  llm=(--llm replay:examples/batch/replies.jsonl)
fi
echo
"$bin" batch examples/batch/problems.jsonl "${llm[@]}" --db "$db" -j 8 || exit 1
echo
"$bin" eval --db "$db" || exit 1
echo
echo "optagent: the full record of every attempt is in $db;"
echo "optagent: '$bin eval --db $db --format html -o report.html' writes the HTML report."
