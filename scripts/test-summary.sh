#!/usr/bin/env bash
# Prints one closing line for `make test`: the Swift Testing totals (XCTest runs no tests here).
set -euo pipefail
log=$1
line=$(grep -E 'Test run with [0-9]+ tests? ' "$log" | tail -n 1 || true)
total=$(sed -E 's/.*Test run with ([0-9]+) tests?.*/\1/' <<<"$line")
if [ -z "$line" ] || [ -z "$total" ]; then echo "tests: no Swift Testing summary found in $log"; exit 1; fi
failed=$(grep -cE 'Test .* failed after' "$log" || true)
if grep -q 'passed after' <<<"$line"; then
  echo "tests: $total passed, 0 failed"
else
  echo "tests: $((total - failed)) passed, $failed failed"
  exit 1
fi
