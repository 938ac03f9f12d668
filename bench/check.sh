#!/usr/bin/env bash
# bench/check.sh BIN — time of `optagent solve --check` for formulations with
# 20k, 40k and 80k names (bench/gen_check.py), and the ratios
# t(40k)/t(20k), t(80k)/t(40k): about 2.0 when checking is linear.
#
#   CHECK_SIZES="20000 40000 80000"   sizes (default)
#   CHECK_REPEAT=3                    runs per size; the fastest counts
#
# Kinds: decls (variables + constraints + a parameter chain), keys (unknown
# keys of one object), undeclared (constraints using undeclared names).
# Exit status 0 when every run ended as expected (valid: 0, undeclared: 1).
set -u
bin=${1:-build/optagent}
here=$(cd "$(dirname "$0")" && pwd)
sizes=${CHECK_SIZES:-"20000 40000 80000"}
repeat=${CHECK_REPEAT:-3}
die() { echo "bench: $*" >&2; exit 1; }
[ -x "$bin" ] || die "no executable optagent at '$bin'"
command -v python3 >/dev/null || die "python3 is needed to generate the models"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/optagent-check-XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
status=0
printf '%-11s %8s %10s %8s\n' kind names seconds ratio
for kind in decls keys undeclared; do
  prev=
  for n in $sizes; do
    f=$tmp/$kind-$n.json
    python3 "$here/gen_check.py" "$kind" "$n" > "$f" || die "generation failed"
    best=
    for _ in $(seq "$repeat"); do
      t0=$(now); "$bin" solve --check "$f" > /dev/null 2>&1; rc=$?; t1=$(now)
      want=0; [ "$kind" = undeclared ] && want=1
      [ $rc -eq $want ] || { echo "bench: $kind $n: exit $rc, expected $want" >&2; status=1; }
      t=$(echo "$t1 - $t0" | bc -l)
      if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
    done
    ratio=-
    [ -n "$prev" ] && ratio=$(printf '%.2f' "$(echo "$best / $prev" | bc -l)")
    printf '%-11s %8d %10.3f %8s\n' "$kind" "$n" "$best" "$ratio"
    prev=$best
  done
done
exit $status
