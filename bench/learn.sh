#!/usr/bin/env bash
# bench/learn.sh BIN — learning's overhead beyond the LLM's latency: optagent
# learn on N problems (default 64) at -j 8 against the fake server answering
# every request after a fixed delay (default 300 ms). Each problem fails
# first, is reflected on, and its candidate (words of its own, so nothing
# merges and later problems retrieve nothing) is verified and stored: 3 LLM
# calls per problem. The ideal wall time is the sum of the LLM latencies
# over the workers (calls x delay / jobs); the ratio wall / ideal is what
# retrieval, grading, solving, the library's writes and the run database
# add (1.00 = nothing).
set -u
bin=${1:-build/optagent}
build=$(dirname "$bin")
fake=$build/tests/fake_llm
n=${BENCH_LEARN_PROBLEMS:-64}
jobs=${BENCH_LEARN_JOBS:-8}
delay=${BENCH_LEARN_DELAY_MS:-300}
[ -x "$fake" ] || { echo "bench: $fake missing (make $fake)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/optagent-lbench-XXXXXX"); trap 'kill $fpid 2>/dev/null; rm -rf "$tmp"' EXIT
python3 - "$tmp" "$n" "$delay" <<'PY'
import json, sys
d, n, delay = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
syl = ["ka", "vo", "ril", "mun", "tes", "pha", "dor", "quen", "zul", "bri", "sto", "lex"]
def word(i, salt):
    w, x = "", i * 7 + salt * 131
    for _ in range(4):
        w += syl[x % len(syl)]
        x //= len(syl)
    return w
def form(v):
    return ("```json\n" + json.dumps({"format": 1, "variables": [{"name": "x", "upper": v}],
            "objective": {"sense": "max", "expression": "x"}, "constraints": []}) + "\n```")
rules = []
with open(f"{d}/problems.jsonl", "w") as f:
    for i in range(1, n + 1):
        a, b, c = word(i, 1), word(i, 2), word(i, 3)
        f.write(json.dumps({"id": f"l{i}", "question": f"Problem {i}: a {a} plant makes {b} from {c}; maximize the output.", "answer": i}) + "\n")
        ins = {"insights": [{"taxonomy": ["Domain Modeling", f"{a} {b}"],
               "condition": f"Applies when a {a} plant makes {b} from {c}. Does NOT apply when no {a} is involved.",
               "explanation": f"When {a} makes {b}, the best practice is the {c} balance marker{i}x; a common mistake is to omit it.",
               "example": f"Wrong: {b} alone. Right: {b} with {c}."}]}
        tag = f"Problem {i}:"
        rules.append({"match": {"task": "reflect", "content_contains": tag},
                      "reply": {"content": "```json\n" + json.dumps(ins) + "\n```", "delay_ms": delay}})
        rules.append({"match": {"content_contains": tag, "body_contains": f"marker{i}x"},
                      "reply": {"content": form(i), "delay_ms": delay}})
        rules.append({"match": {"content_contains": tag}, "reply": {"content": form(i + 0.5), "delay_ms": delay}})
json.dump({"rules": rules, "default": {"content": "no idea", "delay_ms": delay}}, open(f"{d}/script.json", "w"))
PY
"$fake" --script "$tmp/script.json" --max-seconds 900 > "$tmp/port" 2>/dev/null &
fpid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(awk '{print $2}' "$tmp/port")
export OPTAGENT_BASE_URL=http://127.0.0.1:$port/v1 OPTAGENT_MODEL=fake XDG_CONFIG_HOME=$tmp XDG_DATA_HOME=$tmp
unset OPENAI_BASE_URL OPENAI_API_KEY
t0=$(date +%s.%N)
"$bin" learn "$tmp/problems.jsonl" --db "$tmp/runs.db" --library "$tmp/library.db" -j "$jobs" \
    --no-progress > "$tmp/out" 2> "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
t1=$(date +%s.%N)
calls=$(curl -s "http://127.0.0.1:$port/_stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
ideal=$(awk -v c="$calls" -v d="$delay" -v j="$jobs" 'BEGIN { printf "%.2f", c * d / 1000 / j }')
stored=$("$bin" library list --json --library "$tmp/library.db" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "| learn: measurement | value |"
echo "|---|---|"
echo "| problems, jobs, LLM delay | $n, -j $jobs, $delay ms per reply |"
echo "| LLM calls (formulate + reflect + verify) | $calls |"
echo "| insights stored | $stored |"
echo "| wall | ${wall} s |"
echo "| ideal (calls x delay / jobs) | ${ideal} s |"
echo "| overhead ratio wall / ideal | $(awk -v a="$wall" -v b="$ideal" 'BEGIN { printf "%.3f", a / b }') |"
sed 's/^/    /' "$tmp/out"
