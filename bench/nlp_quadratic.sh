#!/usr/bin/env bash
# bench/nlp_quadratic.sh BIN [BENCH_NLP] — a convex quadratic program of
# 2,000 variables (bench/gen_quadratic.py) solved end to end by `optagent
# solve` (Ipopt, exact derivatives), against the same model with its
# quadratic terms dropped (an LP, GLPK): wall and CPU time of the whole
# process (best of 3), their ratio, and where the nonlinear solve's time
# goes (bench_nlp: derivative structure and evaluation, Ipopt's share; perf,
# when installed: by library, which names MUMPS and BLAS).
#   BENCH_NLP_VARS=N   the size (default 2000)
set -u
bin=${1:-build/optagent}
bench_nlp=${2:-build/bench/bench_nlp}
here=$(cd "$(dirname "$0")/.." && pwd)
n=${BENCH_NLP_VARS:-2000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/optagent-nlp-XXXXXX"); trap 'rm -rf "$tmp"' EXIT
python3 "$here/bench/gen_quadratic.py" --vars "$n" -o "$tmp/qp.json" || exit 1
python3 "$here/bench/gen_quadratic.py" --vars "$n" --linear -o "$tmp/lp.json" || exit 1

best() {   # "wall_ms cpu_ms", the best of 3 runs of "$@"
  local bw="" bc=""
  for _ in 1 2 3; do
    /usr/bin/time -o "$tmp/time" -f '%e %U %S' "$@" >/dev/null 2>&1
    local out; out=$(tail -1 "$tmp/time")
    local w c; w=$(awk '{ printf "%.0f", $1 * 1000 }' <<<"$out"); c=$(awk '{ printf "%.0f", ($2 + $3) * 1000 }' <<<"$out")
    if [ -z "$bw" ] || [ "$w" -lt "$bw" ]; then bw=$w; fi
    if [ -z "$bc" ] || [ "$c" -lt "$bc" ]; then bc=$c; fi
  done
  echo "$bw $bc"
}

status() { "$bin" solve --json "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["solver"], "%.6g" % d["objective"])'; }
echo "nonlinear: quadratic program, $n variables, $((n / 10)) rows"
echo "  QP: $(status "$tmp/qp.json")"
echo "  LP (quadratic terms dropped): $(status "$tmp/lp.json")"
read -r qw qc < <(best "$bin" solve "$tmp/qp.json")
read -r lw lc < <(best "$bin" solve "$tmp/lp.json")
printf '  %-36s %8s ms wall %8s ms cpu\n' "optagent solve QP (Ipopt)" "$qw" "$qc"
printf '  %-36s %8s ms wall %8s ms cpu\n' "optagent solve LP (GLPK)" "$lw" "$lc"
awk -v a="$qc" -v b="$lc" 'BEGIN { if (b > 0) printf "  ratio QP / LP (cpu): %.1f\n", a / b }'
if [ -x "$bench_nlp" ]; then
  echo "  breakdown of the QP:"
  "$bench_nlp" "$tmp/qp.json" | sed 's/^/    /'
  if command -v perf >/dev/null && perf record -q -o "$tmp/perf.data" "$bench_nlp" "$tmp/qp.json" >/dev/null 2>&1; then
    echo "  CPU by library (perf):"
    perf report -i "$tmp/perf.data" --sort dso --stdio 2>/dev/null | grep -v '^#' | grep . | head -6 | sed 's/^/    /'
  fi
fi
