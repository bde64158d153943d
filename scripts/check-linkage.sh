#!/usr/bin/env bash
# Fails if a shipped binary links full Foundation or ICU (39 MB on a board); FoundationEssentials is fine.
set -euo pipefail
status=0
for bin in "$@"; do
  if [ ! -x "$bin" ]; then echo "check-linkage: $bin not found"; exit 1; fi
  needed=$(readelf -d "$bin" | awk '/NEEDED/ {gsub(/[\[\]]/, "", $5); print $5}')
  resolved=$(ldd "$bin" | awk '{print $1}')
  bad=$(printf '%s\n%s\n' "$needed" "$resolved" | grep -E '^(libFoundation\.so|libFoundationInternationalization\.so|lib_FoundationICU\.so|libicu)' | sort -u || true)
  if [ -n "$bad" ]; then
    echo "check-linkage: FAIL $(basename "$bin") links: $(echo $bad)"; status=1
  else
    echo "check-linkage: ok   $(basename "$bin") (no libFoundation, no ICU)"
  fi
done
exit $status
