#!/usr/bin/env bash
# Make sure PostgreSQL server binaries (initdb, pg_ctl, postgres) exist; install them from Debian when missing.
set -euo pipefail
. "$(dirname "$0")/apt.sh"
find_bin() {
  command -v pg_ctl >/dev/null 2>&1 && return 0
  compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null && return 0
  return 1
}
if find_bin; then exit 0; fi
echo "PostgreSQL server binaries (pg_ctl/initdb) not found; installing them from Debian packages..."
if ! apt_root; then
  echo "error: $APT_MISSING. Install the PostgreSQL server (>= 13) so that pg_ctl and initdb are on PATH," >&2
  echo "       or set METRICS_UTILITY_PG_BIN to the folder holding them." >&2
  exit 1
fi
apt_install postgresql
find_bin || { echo "error: PostgreSQL installed but pg_ctl still not found" >&2; exit 1; }
