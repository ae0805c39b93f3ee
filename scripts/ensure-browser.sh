#!/usr/bin/env bash
# Make sure Debian's Chromium is present for the browser tests (Playwright drives the system
# browser; downloading Playwright's own browser build is not possible on our machines).
# Installs it with apt-get when running as root; otherwise says what to install.
set -euo pipefail
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [[ -x "$CHROMIUM" ]]; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the browser tests (apt-get)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  exit 0
fi
echo "WARNING: $CHROMIUM is missing; the browser tests need it." >&2
echo "         Install it with: sudo apt-get install chromium" >&2
echo "         (or point CHROMIUM=/path/to/chromium at another Chromium build)" >&2
