#!/usr/bin/env bash
# Make sure prometheus and promtool exist (Debian package `prometheus`); tests that need them start their own server.
set -euo pipefail
. "$(dirname "$0")/apt.sh"
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then exit 0; fi
echo "prometheus/promtool not found; installing the Debian package 'prometheus'..."
if ! apt_root; then
  echo "warning: $APT_MISSING; tests that need a real Prometheus will be skipped" >&2; exit 0
fi
# The package's post-install tries to start a system service; there is no init here and we do not want one.
apt_install prometheus || true
# Stop a service the package may have started so it does not hold port 9090.
$SUDO pkill -x prometheus 2>/dev/null || true
command -v promtool >/dev/null 2>&1 || echo "warning: promtool still missing; Prometheus tests will be skipped" >&2
