#!/usr/bin/env bash
# Install Debian's chromium and chromium-driver for the browser tests, when they are missing and we may.
set -u
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing chromium and chromium-driver for the browser tests..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null && exit 0
  echo "Could not install chromium; the browser tests will say why they are skipped." >&2
else
  echo "chromium/chromedriver not found and not root: the browser tests will be skipped (they fail under CI=true)." >&2
fi
exit 0
