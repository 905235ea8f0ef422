#!/usr/bin/env bash
# Make sure PostgreSQL server binaries (initdb, pg_ctl, postgres) exist; install them from Debian when missing.
set -euo pipefail
find_bin() {
  command -v pg_ctl >/dev/null 2>&1 && return 0
  compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null && return 0
  return 1
}
if find_bin; then exit 0; fi
echo "PostgreSQL server binaries (pg_ctl/initdb) not found; installing them from Debian packages..."
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: no apt-get on this machine. Install the PostgreSQL server (>= 13) so that pg_ctl and initdb are on PATH," >&2
  echo "       or set METRICS_UTILITY_PG_BIN to the folder holding them." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: installing PostgreSQL needs root (or sudo). Run: apt-get install postgresql" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends postgresql
find_bin || { echo "error: PostgreSQL installed but pg_ctl still not found" >&2; exit 1; }
