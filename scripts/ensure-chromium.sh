#!/usr/bin/env bash
# Make sure a headless browser for the dashboard test exists: Debian's `chromium` and `chromium-driver`
# (/usr/bin/chromium, /usr/bin/chromedriver). Selenium is pointed at that driver, so nothing is downloaded at test time.
set -euo pipefail
. "$(dirname "$0")/apt.sh"
found() { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }
if found; then exit 0; fi
echo "chromium/chromedriver not found; installing the Debian packages 'chromium' and 'chromium-driver'..."
if ! apt_root; then
  echo "warning: $APT_MISSING; the dashboard's browser test will be skipped" >&2; exit 0
fi
apt_install chromium-driver >/dev/null  # depends on the matching chromium
found || echo "warning: chromium or chromedriver still missing; the dashboard's browser test will be skipped" >&2
