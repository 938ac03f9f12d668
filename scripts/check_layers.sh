#!/usr/bin/env bash
# Checks that #include "..." edges point only downwards between the modules
# (README.md, "Layout"): a file may include its own module's headers and those
# of the modules listed for it below. Prints every upward edge; exit 1 if any.
# (agent/llm uses formulate/ only for fm_clock_ms, the project's one clock.)
set -u
cd "$(dirname "$0")/.."
allowed() {   # module -> modules it may include
  case $1 in
    formulate)  echo "formulate" ;;
    db)         echo "db" ;;
    solver)     echo "solver formulate" ;;
    library)    echo "library db solver formulate" ;;
    agent/llm)  echo "agent/llm db formulate" ;;
    agent/core) echo "agent/core agent/llm library solver formulate db" ;;
    agent/eval) echo "agent/eval agent/core agent/llm library solver formulate db" ;;
    agent/cli)  echo "agent/cli agent/eval agent/core agent/llm library solver formulate db" ;;
  esac
}
module_of() {  # path -> module
  case $1 in
    agent/*/*) echo "${1%/*}" ;;
    */*)       echo "${1%%/*}" ;;
  esac
}
bad=0
for f in $(ls formulate/*.[ch] db/*.[ch] solver/*.[ch] library/*.[ch] agent/*/*.[ch] 2>/dev/null); do
  from=$(module_of "$f")
  ok=$(allowed "$from")
  [ -n "$ok" ] || { echo "check_layers: $f: not in a known module" >&2; bad=1; continue; }
  while IFS= read -r inc; do
    to=$(module_of "$inc")
    case " $ok " in *" $to "*) ;; *) echo "check_layers: $f includes $inc ($from must not depend on $to)" >&2; bad=1 ;; esac
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done
[ $bad = 0 ] && echo "check_layers: every include points downwards"
exit $bad
