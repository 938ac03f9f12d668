#!/usr/bin/env bash
# bench/startup.sh BIN — a whole `optagent solve` process on small models
# against `glpsol -m` on the .mod that optagent exports from the same model,
# side by side: the cost of process start (dynamic loading) dominates both.
# Two measures per model: wall time (hyperfine when installed, else a loop of
# 200 runs) and instructions executed (valgrind --tool=callgrind, repeatable
# whatever else the machine does). Prints one line per model and the ratios
# optagent / glpsol (below 1: optagent is faster).
#   BENCH_MODELS="a.json b.json"   the models (default: examples/*.json that solve)
set -u
bin=${1:-build/optagent}
here=$(cd "$(dirname "$0")/.." && pwd)
command -v glpsol >/dev/null || { echo "bench: glpsol is not on PATH" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/optagent-startup-XXXXXX"); trap 'rm -rf "$tmp"' EXIT
models=${BENCH_MODELS:-"$here/examples/furniture.json $here/examples/transport.json $here/examples/maxflow.json $here/examples/production_inventory.json"}

wall() {   # mean milliseconds of "$@" over repeated runs
  if command -v hyperfine >/dev/null; then
    hyperfine -N -w 20 -r 300 --export-json "$tmp/h.json" "$*" >/dev/null 2>&1 &&
      python3 -c 'import json,sys; print("%.2f" % (1000*json.load(open(sys.argv[1]))["results"][0]["mean"]))' "$tmp/h.json"
  else
    local t0 t1; t0=$(date +%s%N)
    for _ in $(seq 200); do "$@" >/dev/null 2>&1; done
    t1=$(date +%s%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", (b - a) / 200 / 1e6 }'
  fi
}
instr() {  # instructions executed by "$@"
  command -v valgrind >/dev/null || { echo "-"; return; }
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
    awk '/refs:/ { gsub(",", "", $NF); print $NF }'
}

printf '%-26s %10s %10s %7s %14s %14s %7s\n' model "optagent" "glpsol" ratio "optagent instr" "glpsol instr" ratio
for m in $models; do
  name=$(basename "$m" .json)
  "$bin" solve "$m" --export "$tmp/$name.mod" >/dev/null 2>&1 || { echo "bench: $m does not solve" >&2; continue; }
  a=$(wall "$bin" solve "$m"); b=$(wall glpsol -m "$tmp/$name.mod")
  ia=$(instr "$bin" solve "$m"); ib=$(instr glpsol -m "$tmp/$name.mod")
  printf '%-26s %8s ms %8s ms %7s %14s %14s %7s\n' "$name" "$a" "$b" \
    "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')" "$ia" "$ib" \
    "$(awk -v a="$ia" -v b="$ib" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
done
