#!/usr/bin/env bash
# bench/reply_rss.sh BIN — peak RSS of `optagent ask` per MB of LLM reply
# (issue 7, item 7), against tests/fake_llm on 127.0.0.1. See bench/README.md.
#
# Replies (each about REPLY_MB, default 3.9 MB, under the 4 MiB client cap):
#   prose    text with a small formulation at the end: one round
#   junk     text without a formulation: 1 + 3 correction rounds, each
#            sending the previous reply back
#   badjson  a large ```json block that does not parse: extraction, repairs
#            and the correction rounds
# Each is run as `ask` and `ask --json` (the full record printed). The
# baseline is `ask` of a 1 KB reply; "MB/reply-MB" is (peak - baseline) /
# reply size. Also `batch -j 8` of 8 problems answered with the junk reply
# (BENCH_BATCH=0 skips it).
#
# Exit status: 0 when every run finished, 1 otherwise. Needs python3 and
# GNU time (/usr/bin/time).
set -u
bin=${1:-build/optagent}
here=$(cd "$(dirname "$0")" && pwd)
fake=${FAKE_LLM:-$(dirname "$bin")/tests/fake_llm}
mb=${REPLY_MB:-3.9}
die() { echo "bench: $*" >&2; exit 1; }
[ -x "$bin" ] || die "no executable optagent at '$bin'"
[ -x "$fake" ] || die "no fake server at '$fake' (make build/tests/fake_llm)"
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is needed"
command -v python3 >/dev/null || die "python3 is needed"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/optagent-rss-XXXXXX") || die "mktemp failed"
pids=()
cleanup() { for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT

python3 - "$tmp" "$mb" <<'PY'
import json, sys
d, mb = sys.argv[1], float(sys.argv[2])
n = int(mb * 1e6)
good = '```json\n{"format":1,"variables":[{"name":"x","upper":3}],"objective":{"sense":"max","expression":"x"},"constraints":[]}\n```'
prose = ("The quick brown fox weighs the problem {a: [1, 2, 3]} with care. " * (n // 60 + 1))[:n - len(good) - 1]
cons = ",".join('{"name":"c%d","expression":"x + %d <= %d"}' % (i, i, i + 5) for i in range(n // 45))
bad = ('```json\n{"format":1,"variables":[{"name":"x","upper":3}],"objective":{"sense":"max","expression":"x"},'
       '"constraints":[' + cons + '] oops}\n```')[:int(n * 0.8)]   # quotes are escaped on the wire
for name, content in (("small", good), ("prose", prose + "\n" + good), ("junk", prose), ("badjson", bad)):
    json.dump({"default": {"content": content}}, open("%s/%s.json" % (d, name), "w"))
    open("%s/%s.size" % (d, name), "w").write(str(len(content.encode())))
with open(d + "/p.jsonl", "w") as f:
    for i in range(8):
        f.write(json.dumps({"id": "q%d" % i, "question": "Problem %d: maximize x." % i, "answer": 3}) + "\n")
PY
[ $? -eq 0 ] || die "generating the replies failed"

start_fake() {   # $1 = script name; sets port
    "$fake" --script "$tmp/$1.json" --max-seconds 600 > "$tmp/$1.port" 2>/dev/null &
    pids+=($!)
    for _ in $(seq 50); do [ -s "$tmp/$1.port" ] && break; sleep 0.1; done
    port=$(awk '{print $2}' "$tmp/$1.port")
    [ -n "$port" ] || die "fake server did not start"
}
rss() {   # runs "$@", prints the peak RSS in KB
    /usr/bin/time -f "%M" -o "$tmp/rss" "$@" > /dev/null 2> "$tmp/err"
    tail -n 1 "$tmp/rss"
}
env_for() { echo env -u OPENAI_API_KEY -u OPTAGENT_API_KEY XDG_CONFIG_HOME=$tmp OPTAGENT_BASE_URL=http://127.0.0.1:$1/v1 OPTAGENT_MODEL=fake; }

status=0
start_fake small
base=$(rss $(env_for $port) "$bin" ask "maximize x")
printf '| reply | mode | reply MB | peak RSS MB | (peak - base) / reply MB |\n|---|---|---|---|---|\n'
printf '| 1 KB | ask | 0.001 | %.1f | (baseline) |\n' "$(echo "$base / 1024" | bc -l)"
for s in prose junk badjson; do
    start_fake $s
    size=$(cat "$tmp/$s.size")
    for mode in "" --json; do
        k=$(rss $(env_for $port) "$bin" ask $mode "maximize x") || true
        [ -n "$k" ] || { status=1; continue; }
        python3 -c "import sys; k, b, n = map(float, sys.argv[1:4]); print('| %s | ask %s | %.2f | %.1f | %.1f |' % ('$s', '$mode', n / 1e6, k / 1024, (k - b) / 1024 / (n / 1e6)))" "$k" "$base" "$size"
    done
done
if [ "${BENCH_BATCH:-1}" != 0 ]; then
    start_fake junk
    size=$(cat "$tmp/junk.size")
    k=$(rss $(env_for $port) "$bin" batch "$tmp/p.jsonl" --db "$tmp/b.db" -j 8 --no-progress)
    python3 -c "import sys; k, b, n = map(float, sys.argv[1:4]); print('| junk x 8 | batch -j 8 | %.2f | %.1f | %.1f per problem in flight |' % (n / 1e6, k / 1024, (k - b) / 1024 / (n / 1e6) / 8))" "$k" "$base" "$size"
fi
exit $status
