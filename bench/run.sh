#!/usr/bin/env bash
# bench/run.sh BIN — times optagent against glpsol on generated min-cost-flow
# networks (bench/gen_network.py); see bench/README.md.
#
#   BENCH_SIZES="2000 10000"   node counts to run (default)
#   BENCH_KEEP=1               keep the temp dir with the models and outputs
#
# Exit status: 0 when every size solved and the objectives agree, 1 otherwise.
set -u

bin=${1:-build/optagent}
here=$(cd "$(dirname "$0")" && pwd)
sizes=${BENCH_SIZES:-"2000 10000"}

die() { echo "bench: $*" >&2; exit 1; }
[ -x "$bin" ] || die "no executable optagent at '$bin' (usage: bench/run.sh BIN)"
command -v python3 >/dev/null || die "python3 is needed to generate the models"
command -v glpsol >/dev/null || die "glpsol is not on PATH (install glpk-utils)"
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/optagent-bench-XXXXXX") || die "mktemp failed"
if [ "${BENCH_KEEP:-0}" = 1 ]; then
  echo "bench: keeping $tmp"
else
  trap 'rm -rf "$tmp"' EXIT
fi

have_time=0
[ -x /usr/bin/time ] && /usr/bin/time -f '%M' true >/dev/null 2>&1 && have_time=1

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# timed OUTFILE CMD... : runs CMD with stdout to OUTFILE, stderr to OUTFILE.err;
# sets T (wall seconds), RSS (peak KiB or "-") and RC.
timed() {
  local out=$1; shift
  local t0 t1
  t0=$(now)
  if [ $have_time = 1 ]; then
    /usr/bin/time -f '%M' -o "$out.rss" "$@" >"$out" 2>"$out.err"; RC=$?
  else
    "$@" >"$out" 2>"$out.err"; RC=$?
  fi
  t1=$(now)
  T=$(elapsed "$t0" "$t1")
  RSS=-
  if [ $have_time = 1 ] && [ -s "$out.rss" ]; then
    RSS=$(awk '/^[0-9]+$/ { v = $1 } END { if (v != "") printf "%.0f", v / 1024; else print "-" }' "$out.rss")
  fi
}

# The objective of glpsol's -w file ("s bas R C P D OBJ" / "s mip R C S OBJ").
glpsol_status_obj() {
  awk '$1 == "s" && $2 == "bas" { st = ($5 == "f" && $6 == "f") ? "optimal" : "not-optimal(" $5 $6 ")"; print st, $7; exit }
       $1 == "s" && $2 == "mip" { st = ($5 == "o") ? "optimal" : "not-optimal(" $5 ")"; print st, $6; exit }' "$1"
}

agree() {  # agree A B: |A-B| <= 1e-6 * max(1, |B|)
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "" || b == "" || a == "-" || b == "-") exit 1
    d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; if (m < 1) m = 1
    exit !(d <= 1e-6 * m) }'
}

rows=()
status=0
for n in $sizes; do
  d=$tmp/n$n; mkdir -p "$d"
  echo "bench: $n nodes: generating" >&2
  python3 "$here/gen_network.py" --nodes "$n" -o "$d/model.json" || die "generator failed"

  echo "bench: $n nodes: optagent solve --json" >&2
  timed "$d/solve.json" "$bin" solve --json "$d/model.json"
  ot=$T; orss=$RSS; orc=$RC
  read -r ost oobj oms ocols orows < <(python3 - "$d/solve.json" <<'EOF'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception:
    print("no-json - - - -"); sys.exit()
obj = r.get("objective")
size = r.get("size") or {}
tm = r.get("time_ms")
print(r.get("status", "?"), "-" if obj is None else repr(float(obj)),
      "-" if tm is None else "%.0f" % tm, size.get("cols", "-"), size.get("rows", "-"))
EOF
)
  [ "$orc" = 0 ] || { echo "bench: optagent exited $orc; stderr:" >&2; tail -5 "$d/solve.json.err" >&2; }

  echo "bench: $n nodes: optagent --export model.mod" >&2
  "$bin" solve "$d/model.json" --export "$d/model.mod" >"$d/export.out" 2>&1
  erc=$?
  gt=-; grss=-; gst=-; gobj=-
  if [ $erc -eq 0 ] && [ -s "$d/model.mod" ]; then
    echo "bench: $n nodes: glpsol -m model.mod" >&2
    timed "$d/glpsol.out" glpsol -m "$d/model.mod" -w "$d/glpsol.sol"
    gt=$T; grss=$RSS
    if [ $RC -eq 0 ] && [ -s "$d/glpsol.sol" ]; then
      read -r gst gobj < <(glpsol_status_obj "$d/glpsol.sol")
    else
      gst=glpsol-failed
      tail -5 "$d/glpsol.out" >&2
    fi
  else
    echo "bench: export failed (exit $erc):" >&2; tail -5 "$d/export.out" >&2
    gst=export-failed
  fi

  ratio=-
  [ "$gt" != - ] && ratio=$(awk -v a="$ot" -v b="$gt" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
  if [ "$ost" != optimal ] || [ "${gst:-}" != optimal ]; then
    verdict=FAILED; status=1
  elif agree "$oobj" "$gobj"; then
    verdict=ok
  else
    verdict=MISMATCH; status=1
  fi
  rows+=("$(printf '%-7s %6s %6s | %9s %8s %7s %-9s %-14s | %9s %7s %-9s %-14s | %6s  %s' \
    "$n" "${orows:--}" "${ocols:--}" "$ot" "${oms:--}" "$orss" "$ost" "$oobj" \
    "$gt" "$grss" "${gst:--}" "${gobj:--}" "$ratio" "$verdict")")
done

echo
echo "optagent: $bin solve --json model.json (wall time of the whole run: read, compile, solve, print)"
echo "glpsol:   glpsol -m model.mod on optagent's MathProg export (translate + solve)"
printf '%-7s %6s %6s | %9s %8s %7s %-9s %-14s | %9s %7s %-9s %-14s | %6s  %s\n' \
  nodes rows cols "opt wall" "solve_ms" "RSS MiB" status objective \
  "glp wall" "RSS MiB" status objective ratio check
for r in "${rows[@]}"; do printf '%s\n' "$r"; done
exit $status
