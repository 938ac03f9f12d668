#!/usr/bin/env bash
# The README's main command (`make run`): optagent learning from its own
# failures. New problems are solved once without the experience library;
# then `optagent learn` works through a few training problems with gold
# answers into a fresh library (a wrong answer -> reflection -> a candidate
# insight -> kept only when re-solving with it gives the right answer); then
# the new problems are solved again with the library, and both accuracies and
# the learned insight are shown. With an LLM endpoint configured
# (OPTAGENT_BASE_URL / OPENAI_BASE_URL / the config file) it asks that LLM;
# without one it replays replies recorded for these problems
# (examples/learn/replies.jsonl) and says so.
set -u
bin=${1:-build/optagent}
cd "$(dirname "$0")/.."
out=$(dirname "$bin")
db=$out/demo-runs.db
library=$out/demo-library.db
rm -f "$db" "$db-wal" "$db-shm" "$db.lock" "$library" "$library-wal" "$library-shm"
config=${XDG_CONFIG_HOME:-$HOME/.config}/optagent/config
ex=examples/learn
if [ -n "${OPTAGENT_BASE_URL:-}${OPENAI_BASE_URL:-}" ] || { [ -f "$config" ] && grep -q '^ *base_url' "$config"; }; then
  echo "optagent: learning with the configured LLM endpoint"
  llm=()
else
  echo "optagent: no LLM endpoint is configured, so the LLM's part is replayed from replies"
  echo "optagent: recorded for these problems ($ex/replies.jsonl); a recorded reply for a problem"
  echo "optagent: differs only by whether the request carried the learned insight. Retrieval,"
  echo "optagent: grading, verification, the library and every solve are real."
  echo "optagent: set OPTAGENT_BASE_URL and OPTAGENT_MODEL (see README) to ask a real LLM instead."
  llm=(--llm replay:$ex/replies.jsonl)
fi
accuracy() {   # the "N correct (P%" part of a batch summary
  sed -n 's/.* \([0-9]*\) correct (\([0-9.]*%\).*/\1 of the problems (\2)/p'
}
echo
echo "== 1. the $(wc -l < $ex/test.jsonl) new problems of $ex/test.jsonl, without the library"
before=$("$bin" batch $ex/test.jsonl "${llm[@]}" --db "$db" --no-library -j 4 --no-progress) || exit 1
echo "$before"
echo
echo "== 2. learning from the $(wc -l < $ex/train.jsonl) training problems of $ex/train.jsonl into $library"
"$bin" learn $ex/train.jsonl "${llm[@]}" --db "$db" --library "$library" -j 1 --no-progress || exit 1
echo
echo "== 3. the same new problems, with the library"
after=$("$bin" batch $ex/test.jsonl "${llm[@]}" --db "$db" --library "$library" -j 4 --no-progress) || exit 1
echo "$after"
echo
echo "== what was learned"
"$bin" library list --library "$library" || exit 1
echo
echo "before learning: $(printf '%s\n' "$before" | head -1 | accuracy) right"
echo "after learning:  $(printf '%s\n' "$after" | head -1 | accuracy) right"
echo
echo "optagent: '$bin library show 1 --library $library' shows an insight in full;"
echo "optagent: '$bin eval --db $db --compare 1 3' shows what the library changed, problem by problem;"
echo "optagent: every attempt, reflection and verification is recorded in $db."
