#!/usr/bin/env bash
# Renders the HTML report of a replay batch over examples/batch in headless
# Chromium to build/report.png (make report-png). Installs Debian's chromium
# when it is missing and this runs as root.
set -eu
bin=${1:-build/optagent}
out=$(dirname "$bin")
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >&2
  else echo "report-png: chromium is not installed (apt-get install chromium)" >&2; exit 1; fi
fi
db=$out/report-demo.db
rm -f "$db" "$db-wal" "$db-shm"
"$bin" batch examples/batch/problems.jsonl --llm replay:examples/batch/replies.jsonl --db "$db" -j 4 --no-progress >&2
"$bin" eval --db "$db" --format html -o "$out/report.html"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size=1280,2200 --hide-scrollbars \
  --screenshot="$out/report.png" "file://$(cd "$out" && pwd)/report.html" >/dev/null 2>&1
size=$(stat -c %s "$out/report.png")
[ "$size" -gt 20000 ] || { echo "report-png: $out/report.png is only $size bytes" >&2; exit 1; }
echo "report-png: $out/report.html rendered to $out/report.png ($size bytes)"
