#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each (default 60s). `make test` runs
# the same targets over their seed corpus only; this searches further.
set -euo pipefail
fuzztime=${FUZZTIME:-60s}
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "== $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
  done
done
