#!/usr/bin/env bash
# bench/memory.sh BIN — peak RSS of `optagent solve --check` per input
# megabyte on generated min-cost-flow formulations (bench/gen_network.py) of
# about 10 MB and 60 MB (MEM_NODES="50000 300000" nodes), measured with
# /usr/bin/time -f %M. The check stage holds everything that grows with the
# input (the JSON tree, the data tables, the program); the solve adds GLPK.
set -u
bin=${1:-build/optagent}
here=$(cd "$(dirname "$0")" && pwd)
nodes=${MEM_NODES:-"50000 300000"}
die() { echo "bench: $*" >&2; exit 1; }
[ -x "$bin" ] || die "no executable optagent at '$bin'"
[ -x /usr/bin/time ] || die "/usr/bin/time is needed (package time)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/optagent-mem-XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
status=0
printf '%-8s %10s %10s %12s %8s\n' nodes input_MB seconds peak_RSS_MB MB/MB
for n in $nodes; do
  f=$tmp/net-$n.json
  python3 "$here/gen_network.py" --nodes "$n" > "$f" || die "generation failed"
  size=$(stat -c %s "$f")
  out=$( { /usr/bin/time -f '%e %M' "$bin" solve --check "$f" > /dev/null; } 2>&1 ) || status=1
  read -r secs kb <<< "$(printf '%s\n' "$out" | tail -1)"
  awk -v n="$n" -v b="$size" -v s="$secs" -v k="$kb" 'BEGIN {
    printf "%-8s %10.1f %10.2f %12.0f %8.1f\n", n, b / 1048576, s, k / 1024, (k / 1024) / (b / 1048576) }'
done
exit $status
