#!/usr/bin/env bash
# Makes sure stripe-mock (Stripe's official API mock, which the billing
# tests run against) is installed, and prints its path.
#
#   scripts/ensure-stripe-mock.sh          install into ./.data/bin if missing
#   STRIPE_MOCK_BIN=/path/to/stripe-mock   use that one instead
#
# It is built from source with `go install`, through the Go module proxy,
# so no prebuilt binary is downloaded. The tests find it in ./.data/bin.
set -euo pipefail

version=v0.203.0
root=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=${STRIPE_MOCK_DIR:-$root/.data/bin}
bin=$bin_dir/stripe-mock

say() { printf 'ensure-stripe-mock: %s\n' "$*" >&2; }

if [ -n "${STRIPE_MOCK_BIN:-}" ]; then
  echo "$STRIPE_MOCK_BIN"
  exit 0
fi
# The version is stamped beside the binary, so a bump reinstalls.
if [ -x "$bin" ] && [ "$(cat "$bin.version" 2>/dev/null)" = "$version" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$bin_dir"
# Test packages run at once may all find it missing: one installs.
if command -v flock >/dev/null; then
  exec 9>"$bin_dir/.stripe-mock.lock"
  flock 9
  if [ -x "$bin" ] && [ "$(cat "$bin.version" 2>/dev/null)" = "$version" ]; then
    echo "$bin"
    exit 0
  fi
fi
say "installing stripe-mock $version into $bin_dir (about 20 seconds)"
GOBIN=$bin_dir ${GO:-go} install "github.com/stripe/stripe-mock@$version"
echo "$version" >"$bin.version"
echo "$bin"
