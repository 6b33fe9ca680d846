#!/usr/bin/env bash
# Install Debian's haproxy for the cluster test (tests/cluster), when it is missing and we may.
set -u
if command -v haproxy >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing haproxy for the cluster test..."
  export DEBIAN_FRONTEND=noninteractive
  # Only the binary is wanted: the package's service is not started here (the test starts its own).
  (apt-get install -y -qq haproxy >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq haproxy >/dev/null)) && exit 0
  echo "Could not install haproxy; the cluster test will say why it is skipped." >&2
else
  echo "haproxy not found and not root: the cluster test will be skipped (it fails under CI=true)." >&2
fi
exit 0
