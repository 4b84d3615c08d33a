#!/usr/bin/env bash
# Installs the system programs the test suite drives, when missing: redis-server (shared-state tests
# start their own server on 127.0.0.1) and Chromium (the web example runs in a real headless browser).
# Runs before `npm test`, so the README's test command sets up a fresh Debian/Ubuntu machine by itself.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" = "0" ] || sudo="sudo"
  echo "Installing ${missing[*]} for the tests (apt-get)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "The tests need: ${missing[*]}. Install them with your package manager (Chromium at /usr/bin/chromium)." >&2
  exit 1
fi
