#!/usr/bin/env bash
# bench/batch.sh BIN — optagent batch against the fake OpenAI-compatible
# server with 500 ms of latency per reply: 600 problems at -j 32 (wall time
# against the ideal 600 x calls x 0.5 s / 32) and peak RSS at -j 64; then a
# second identical run served from the cache (problems per second).
set -u
bin=${1:-build/optagent}
build=$(dirname "$bin")
fake=$build/tests/fake_llm
n=${BENCH_PROBLEMS:-600}
[ -x "$fake" ] || { echo "bench: $fake missing (make $fake)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/optagent-bbench-XXXXXX"); trap 'kill $fpid 2>/dev/null; rm -rf "$tmp"' EXIT
python3 - "$tmp" "$n" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
rules = []
with open(f"{d}/problems.jsonl", "w") as f:
    for i in range(1, n + 1):
        f.write(json.dumps({"id": f"b{i}", "question": f"Problem {i}: maximize x with x at most {i}.", "answer": i}) + "\n")
content = ("```json\n" + json.dumps({"format": 1, "variables": [{"name": "x", "upper": "k"}],
           "parameters": [{"name": "k", "value": 0}], "objective": {"sense": "max", "expression": "x"},
           "constraints": []}) + "\n```")
# one rule per problem would be slow to match; the answer is the same shape for all
script = {"rules": [], "default": {"content": content, "delay_ms": 500}}
json.dump(script, open(f"{d}/script.json", "w"))
PY
"$fake" --script "$tmp/script.json" --max-seconds 900 > "$tmp/port" 2>/dev/null &
fpid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(awk '{print $2}' "$tmp/port")
export OPTAGENT_BASE_URL=http://127.0.0.1:$port/v1 OPTAGENT_MODEL=fake XDG_CONFIG_HOME=$tmp
unset OPENAI_BASE_URL OPENAI_API_KEY

run() {  # run LABEL JOBS DB EXTRA...
  local label=$1 jobs=$2 db=$3; shift 3
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$tmp/$label.rss" "$bin" batch "$tmp/problems.jsonl" --db "$db" -j "$jobs" --no-progress "$@" \
      > "$tmp/$label.out" 2> "$tmp/$label.err"
  t1=$(date +%s.%N)
  T=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  RSS=$(awk '/^[0-9]+$/ { printf "%.1f", $1 / 1024 }' "$tmp/$label.rss")
}
ideal=$(awk -v n="$n" 'BEGIN { printf "%.2f", n * 0.5 / 32 }')
run j32 32 "$tmp/j32.db"; t32=$T; r32=$RSS
run j64 64 "$tmp/j64.db"; t64=$T; r64=$RSS
run cached 32 "$tmp/j32.db"; tc=$T
calls=$(curl -s "http://127.0.0.1:$port/_stats" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["requests"], s["max_concurrent"])')
echo "| measurement | value |"
echo "|---|---|"
echo "| problems | $n (1 LLM call each, 500 ms per reply) |"
echo "| -j 32 wall | ${t32} s (ideal ${ideal} s, ratio $(awk -v a="$t32" -v b="$ideal" 'BEGIN { printf "%.3f", a / b }')) |"
echo "| -j 32 peak RSS | ${r32} MB |"
echo "| -j 64 wall | ${t64} s |"
echo "| -j 64 peak RSS | ${r64} MB |"
echo "| cached rerun (-j 32) | ${tc} s, $(awk -v n="$n" -v t="$tc" 'BEGIN { printf "%.0f", n / t }') problems/s |"
echo "| fake server: requests, max concurrent | $calls |"
grep -h "problems," "$tmp/j32.out" "$tmp/cached.out" | sed 's/^/    /'
