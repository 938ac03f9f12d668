#!/usr/bin/env bash
# bench/serve_load.sh BIN [LOAD_CLIENT] — `optagent serve` under load, on
# loopback only: 64 clients posting a formulation to /v1/solve for 30 s over
# keep-alive connections; then the same with one `optagent solve` process per
# request. Prints throughput, p50/p95/p99 latency, errors, the server's RSS
# after warm-up and at the end, and the throughput ratio server / processes.
#   SERVE_SECONDS=30 SERVE_CLIENTS=64 SPAWN_SECONDS=10 WARMUP_SECONDS=5
#   SERVE_MODEL=examples/furniture.json
set -u
bin=${1:-build/optagent}
client=${2:-$(dirname "$bin")/bench/serve_load}
here=$(cd "$(dirname "$0")/.." && pwd)
seconds=${SERVE_SECONDS:-30}; clients=${SERVE_CLIENTS:-64}
spawn_seconds=${SPAWN_SECONDS:-10}; warmup=${WARMUP_SECONDS:-5}
model=${SERVE_MODEL:-$here/examples/furniture.json}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/optagent-serve-load-XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

"$bin" serve --listen 127.0.0.1:0 --data-dir "$tmp/data" --no-library 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$tmp/err" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/err")
[ -n "$port" ] || { echo "serve_load: the server did not start:" >&2; cat "$tmp/err" >&2; exit 1; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"; }

"$client" http "$port" "$seconds" "$clients" "$model" >"$tmp/http" &
load=$!
sleep "$warmup"; rss_warm=$(rss)
wait $load; http_rc=$?
rss_end=$(rss)
echo "serve: $clients clients, ${seconds} s, POST /v1/solve $(basename "$model"):"
echo "  $(cat "$tmp/http")"
echo "  server RSS: ${rss_warm} KiB after ${warmup} s of warm-up, ${rss_end} KiB at the end"
"$client" spawn "$bin" "$spawn_seconds" "$clients" "$model" >"$tmp/spawn"; spawn_rc=$?
echo "one 'optagent solve --json' process per request, $clients at a time, ${spawn_seconds} s:"
echo "  $(cat "$tmp/spawn")"
a=$(awk '{ print $5 }' "$tmp/http"); b=$(awk '{ print $5 }' "$tmp/spawn")
awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "throughput ratio serve / process per request: %.1f\n", a / b }'
kill -TERM "$pid"; wait "$pid"; pid=
[ $http_rc = 0 ] && [ $spawn_rc = 0 ]
