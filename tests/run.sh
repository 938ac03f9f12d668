#!/usr/bin/env bash
# Runs every cmocka test binary given, with TAP output, and ends with one line
# "N passed, N failed" over all of them. Exit status is non-zero on any failure.
set -u
passed=0; failed=0; skipped=0; crashed=()
for t in "$@"; do
  out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1); rc=$?
  printf '%s\n' "$out"
  p=$(printf '%s\n' "$out" | grep -E '^ok ' | grep -cvE '# SKIP')
  s=$(printf '%s\n' "$out" | grep -E '^(not )?ok ' | grep -cE '# SKIP')
  f=$(printf '%s\n' "$out" | grep -E '^not ok ' | grep -cvE '# SKIP')
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then crashed+=("$t (exit $rc)"); failed=$((failed + 1)); fi
done
for c in "${crashed[@]+"${crashed[@]}"}"; do echo "# test binary failed outside a test: $c"; done
if [ $skipped -gt 0 ]; then echo "$passed passed, $failed failed, $skipped skipped"
else echo "$passed passed, $failed failed"; fi
[ $failed -eq 0 ]
