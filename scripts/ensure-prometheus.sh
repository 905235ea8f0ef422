#!/usr/bin/env bash
# Make sure prometheus and promtool exist (Debian package `prometheus`); tests that need them start their own server.
set -euo pipefail
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then exit 0; fi
echo "prometheus/promtool not found; installing the Debian package 'prometheus'..."
if ! command -v apt-get >/dev/null 2>&1; then
  echo "warning: no apt-get; tests that need a real Prometheus will be skipped" >&2; exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "warning: installing Prometheus needs root; tests that need it will be skipped" >&2; exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# The package's post-install tries to start a system service; there is no init here and we do not want one.
$SUDO apt-get install -y -q --no-install-recommends prometheus || true
# Stop a service the package may have started so it does not hold port 9090.
$SUDO pkill -x prometheus 2>/dev/null || true
command -v promtool >/dev/null 2>&1 || echo "warning: promtool still missing; Prometheus tests will be skipped" >&2
