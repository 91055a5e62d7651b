#!/usr/bin/env bash
# Makes sure Chromium is installed for the console's browser tests
# (chromedp drives /usr/bin/chromium headless). As root it installs
# Debian's package when missing; otherwise it says what to install.
set -euo pipefail

say() { printf 'ensure-chromium: %s\n' "$*" >&2; }

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  say "Chromium is not installed; installing it with apt-get (about half a minute)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  [ -x /usr/bin/chromium ] && exit 0
fi
say "the console's browser tests need Chromium at /usr/bin/chromium."
say "Install it (Debian/Ubuntu: sudo apt-get install chromium) and run make test again."
exit 1
