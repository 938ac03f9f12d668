#!/usr/bin/env bash
# bench/run.sh BIN — times optagent against glpsol on generated min-cost-flow
# networks (bench/gen_network.py); see bench/README.md.
#
# Two stages are timed for each size, on both sides:
#   solved      optagent solve --json model.json   vs  glpsol -m MOD
#   generation  optagent solve --check model.json  vs  glpsol -m MOD --check
# and glpsol runs on two MathProg models of the same network: "export", the
# .mod that optagent --export writes from model.json, and "hand", the
# hand-written one of gen_network.py --mathprog (the form MathProg is fastest
# with).
#
#   BENCH_SIZES="2000 10000"   node counts to run (default)
#   BENCH_KEEP=1               keep the temp dir with the models and outputs
#
# Exit status: 0 when every run succeeded, the sizes agree and the three
# objectives agree, 1 otherwise.
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
# sets T (wall seconds), RSS (peak MiB or "-") and RC.
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

ratio() {  # ratio A B: A / B to 3 significant digits, "-" when unknown
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a == "" || b == "" || a == "-" || b == "-" || b + 0 <= 0) print "-"
    else printf "%#.3g", a / b }'
}

# glpsol_pair TAG MOD DIR: times glpsol -m MOD -w DIR/TAG.sol (solved) and
# glpsol -m MOD --check (generation). Sets G_T G_RSS G_ST G_OBJ for the first,
# G_CT G_CRSS for the second, G_CST ("ok" when --check exited 0 and generated
# the model, else why not) and G_ROWS (rows generated, objective excluded).
glpsol_pair() {
  local tag=$1 mod=$2 d=$3
  echo "bench: $n nodes: glpsol -m $tag.mod" >&2
  timed "$d/$tag.out" glpsol -m "$mod" -w "$d/$tag.sol"
  G_T=$T; G_RSS=$RSS; G_ST=-; G_OBJ=-
  if [ $RC -eq 0 ] && [ -s "$d/$tag.sol" ]; then
    read -r G_ST G_OBJ < <(glpsol_status_obj "$d/$tag.sol")
  else
    G_ST=glpsol-failed
    tail -5 "$d/$tag.out" >&2
  fi
  echo "bench: $n nodes: glpsol -m $tag.mod --check" >&2
  timed "$d/$tag.check.out" glpsol -m "$mod" --check
  G_CT=$T; G_CRSS=$RSS; G_ROWS=-
  if [ $RC -ne 0 ]; then
    G_CST=glpsol-exit-$RC
  elif ! grep -q '^Model has been successfully generated' "$d/$tag.check.out"; then
    G_CST=not-generated
  else
    G_CST=ok
    G_ROWS=$(awk '/^Number of rows/ { print $NF - 1; exit }' "$d/$tag.check.out")
    [ -n "$G_ROWS" ] || G_ROWS=-
  fi
  [ "$G_CST" = ok ] || { echo "bench: glpsol --check on $tag.mod: $G_CST" >&2; tail -5 "$d/$tag.check.out" >&2; }
}

tfmt='%-6s %6s %6s %-10s | %8s %5s | %8s %5s %8s | %8s %5s %8s\n'
ofmt='%-6s | %-9s %-10s %8s | %-9s %-10s | %-9s %-10s | %s\n'
trows=()
objrows=()
status=0
for n in $sizes; do
  d=$tmp/n$n; mkdir -p "$d"
  echo "bench: $n nodes: generating" >&2
  python3 "$here/gen_network.py" --nodes "$n" -o "$d/model.json" \
    --mathprog "$d/hand.mod" || die "generator failed"

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

  echo "bench: $n nodes: optagent solve --check" >&2
  timed "$d/check.out" "$bin" solve --check "$d/model.json"
  oct=$T; ocrss=$RSS
  if [ $RC -ne 0 ]; then
    ocst=optagent-exit-$RC
  elif ! grep -q '^valid' "$d/check.out"; then
    ocst=not-valid
  elif ! grep -q "size: ${orows:-?} rows, ${ocols:-?} columns" "$d/check.out"; then
    ocst=size-differs
  else
    ocst=ok
  fi
  [ "$ocst" = ok ] || { echo "bench: optagent --check: $ocst" >&2; tail -5 "$d/check.out" "$d/check.out.err" >&2; }

  echo "bench: $n nodes: optagent --export export.mod" >&2
  "$bin" solve "$d/model.json" --export "$d/export.mod" >"$d/export-run.out" 2>&1
  erc=$?
  gt=-; grss=-; gst=-; gobj=-; gct=-; gcrss=-; gcst=-; grows=-
  if [ $erc -eq 0 ] && [ -s "$d/export.mod" ]; then
    glpsol_pair export "$d/export.mod" "$d"
    gt=$G_T; grss=$G_RSS; gst=$G_ST; gobj=$G_OBJ
    gct=$G_CT; gcrss=$G_CRSS; gcst=$G_CST; grows=$G_ROWS
  else
    echo "bench: export failed (exit $erc):" >&2; tail -5 "$d/export-run.out" >&2
    gst=export-failed; gcst=export-failed
  fi

  glpsol_pair hand "$d/hand.mod" "$d"
  ht=$G_T; hrss=$G_RSS; hst=$G_ST; hobj=$G_OBJ
  hct=$G_CT; hcrss=$G_CRSS; hcst=$G_CST; hrows=$G_ROWS

  if [ "$ost" != optimal ] || [ "$gst" != optimal ] || [ "$hst" != optimal ] ||
     [ "$ocst" != ok ] || [ "$gcst" != ok ] || [ "$hcst" != ok ]; then
    verdict=FAILED; status=1
  elif [ "$grows" != "$orows" ] || [ "$hrows" != "$orows" ]; then
    verdict="ROWS-DIFFER($orows/$grows/$hrows)"; status=1
  elif agree "$oobj" "$gobj" && agree "$oobj" "$hobj"; then
    verdict=ok
  else
    verdict=MISMATCH; status=1
  fi
  trows+=("$(printf "$tfmt" "$n" "${orows:--}" "${ocols:--}" solved \
    "$ot" "$orss" "$gt" "$grss" "$(ratio "$ot" "$gt")" \
    "$ht" "$hrss" "$(ratio "$ot" "$ht")")")
  trows+=("$(printf "$tfmt" "$n" "${orows:--}" "${ocols:--}" generation \
    "$oct" "$ocrss" "$gct" "$gcrss" "$(ratio "$oct" "$gct")" \
    "$hct" "$hcrss" "$(ratio "$oct" "$hct")")")
  objrows+=("$(printf "$ofmt" "$n" "$ost" "$oobj" "${oms:--}" "$gst" "${gobj:--}" \
    "$hst" "${hobj:--}" "$verdict")")
done

echo
echo "solved:     optagent solve --json model.json (whole process: read, check,"
echo "            instantiate, solve, print)  vs  glpsol -m MOD (translate, generate, solve)"
echo "generation: optagent solve --check model.json (read, check, instantiate; no solve)"
echo "            vs  glpsol -m MOD --check (translate, generate; no solve)"
echo "MOD: export = optagent's --export of model.json; hand = gen_network.py --mathprog"
echo "wall: seconds; RSS: peak resident MiB; ratio: optagent wall / glpsol wall"
echo
printf "$tfmt" nodes rows cols stage optagent RSS export RSS ratio hand RSS ratio
for r in "${trows[@]}"; do printf '%s\n' "$r"; done
echo
printf "$ofmt" nodes optagent objective solve_ms export objective hand objective check
for r in "${objrows[@]}"; do printf '%s\n' "$r"; done
exit $status
