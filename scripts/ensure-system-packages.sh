#!/usr/bin/env bash
# System tools the tests use, from Debian's packages:
#   chromium   - Playwright drives the system browser (downloading its own build is impossible here)
#   ShellCheck, the linter that keeps the cluster scripts clean
# Installs what is missing with apt-get when running as root; otherwise says what to install.
set -euo pipefail
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
missing=()
[[ -x "$CHROMIUM" ]] || missing+=(chromium fonts-dejavu-core)
command -v shellcheck >/dev/null || missing+=(shellcheck)
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "installing Debian packages for the tests: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "WARNING: missing system packages for the tests: ${missing[*]}" >&2
echo "         install them with: sudo apt-get install ${missing[*]}" >&2
echo "         (CHROMIUM=/path/to/chromium points the browser tests at another Chromium)" >&2
