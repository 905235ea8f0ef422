"""A throwaway PostgreSQL cluster started from the system's server binaries.

Used by `make demo`, the test fixtures and the benchmarks: no shared server, nothing left behind. `initdb` refuses
to run as root, so when we are root the cluster runs as an unprivileged system user (`postgres` when it exists,
else `nobody`). Durability is switched off (fsync, full-page writes, WAL) because the data is disposable.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from metrics_utility.settings.environment import Environment, process_environment

SUPERUSER = 'postgres'

FAST_SETTINGS: Mapping[str, str] = {
    'fsync': 'off',
    'synchronous_commit': 'off',
    'full_page_writes': 'off',
    'wal_level': 'minimal',
    'max_wal_senders': '0',
    'max_wal_size': '8GB',
    'checkpoint_timeout': '30min',
    'shared_buffers': '512MB',
    'work_mem': '64MB',
    'maintenance_work_mem': '512MB',
    'max_connections': '60',
    # Queries over many hourly event partitions lock every partition and its indexes.
    'max_locks_per_transaction': '1024',
    'timezone': 'UTC',
    'log_timezone': 'UTC',
    'logging_collector': 'off',
    'log_min_messages': 'warning',
}


class PostgresNotFoundError(RuntimeError):
    """No PostgreSQL server binaries could be found."""


def find_bin_dir() -> Path:
    """Folder holding pg_ctl/initdb/postgres: $METRICS_UTILITY_PG_BIN, then PATH, then Debian's versioned folders."""
    explicit = Environment(process_environment()).text('METRICS_UTILITY_PG_BIN')
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    on_path = shutil.which('pg_ctl')
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    versions = sorted(glob.glob('/usr/lib/postgresql/*/bin'), key=lambda p: int(Path(p).parent.name), reverse=True)
    candidates.extend(Path(p) for p in versions)
    for folder in candidates:
        if all((folder / tool).exists() for tool in ('pg_ctl', 'initdb', 'postgres')):
            return folder
    where = f'METRICS_UTILITY_PG_BIN={explicit}, ' if explicit else ''
    raise PostgresNotFoundError(
        f'PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in {where}PATH or /usr/lib/postgresql/*/bin; '
        'install them (Debian: apt-get install postgresql, or run `make postgres`) '
        'or set METRICS_UTILITY_PG_BIN to their folder'
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _run_as() -> str | None:
    """The unprivileged user to run the server as when we are root; None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ('postgres', 'nobody'):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise PostgresNotFoundError('running as root but neither a "postgres" nor a "nobody" user exists to run initdb')


@dataclass
class PostgresCluster:
    """A private PostgreSQL server listening on a Unix socket and on 127.0.0.1:<free port>.

    Local (socket) connections are trusted; TCP connections need a password (scram-sha-256), so code that passes
    credentials is exercised for real.
    """

    base_dir: Path | None = None
    settings: Mapping[str, str] = field(default_factory=dict)
    keep: bool = False

    def __post_init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.user = _run_as()
        self.port = _free_port()
        self._owns_dir = self.base_dir is None
        self.base_dir = Path(self.base_dir or tempfile.mkdtemp(prefix='metrics-utility-pg-'))
        self.data_dir = self.base_dir / 'data'
        self.socket_dir = self.base_dir / 'socket'
        self.log_file = self.base_dir / 'postgres.log'
        self.started = False

    # -- lifecycle -------------------------------------------------------------------------------------------------
    def start(self) -> PostgresCluster:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            self._check_reachable()
            for path in (self.base_dir, self.socket_dir):
                shutil.chown(path, self.user, pwd.getpwnam(self.user).pw_gid)
            os.chmod(self.base_dir, 0o700)
        if not (self.data_dir / 'PG_VERSION').exists():
            self._pg(
                'initdb',
                '-D',
                str(self.data_dir),
                '-U',
                SUPERUSER,
                '-E',
                'UTF8',
                '--no-locale',
                '--auth-local=trust',
                '--auth-host=scram-sha-256',
                '--no-sync',
            )
            settings = {**FAST_SETTINGS, **self.settings}
            with open(self.data_dir / 'postgresql.conf', 'a', encoding='utf-8') as conf:
                conf.write('\n# metrics-utility throwaway cluster\n')
                conf.writelines(f"{key} = '{value}'\n" for key, value in settings.items())
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses='127.0.0.1'"
        self._pg('pg_ctl', '-D', str(self.data_dir), '-l', str(self.log_file), '-o', options, '-w', '-t', '60', 'start')
        self.started = True
        return self

    def stop(self) -> None:
        if self.started:
            with contextlib.suppress(subprocess.CalledProcessError):
                self._pg('pg_ctl', '-D', str(self.data_dir), '-m', 'immediate', '-w', 'stop')
            self.started = False
        if self._owns_dir and not self.keep:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _check_reachable(self) -> None:
        """The server user must be able to walk down to its folder; say so plainly when it cannot."""
        for folder in self.base_dir.resolve().parents:
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:
                raise PostgresNotFoundError(
                    f'PostgreSQL runs as the user {self.user!r} here (initdb refuses root) and cannot enter {folder}; '
                    f'put the cluster below a folder others may traverse (e.g. chmod o+x {folder}, or another path)'
                )

    def _pg(self, tool: str, *args: str) -> None:
        # As root, drop to the server user *and its group*: `user=` alone keeps gid 0, and a root-owned folder's
        # group bits (often none) then apply instead of the `other` bits that `_check_reachable` checked.
        account = pwd.getpwnam(self.user) if self.user else None
        result = subprocess.run(
            [str(self.bin_dir / tool), *args],
            user=self.user,
            group=account.pw_gid if account else None,
            extra_groups=[] if account else None,
            capture_output=True,
            text=True,
            check=False,
            cwd=self.base_dir,
        )
        if result.returncode != 0:
            log = self.log_file.read_text(errors='replace')[-2000:] if self.log_file.exists() else ''
            raise subprocess.CalledProcessError(
                result.returncode, result.args, result.stdout, f'{result.stderr}\n--- server log ---\n{log}'
            )

    # -- connecting ------------------------------------------------------------------------------------------------
    def conninfo(self, dbname: str = 'postgres', user: str = SUPERUSER, password: str | None = None) -> str:
        """libpq connection string: over TCP when a password is given, else over the trusted Unix socket."""
        if password is None:
            return psycopg.conninfo.make_conninfo(host=str(self.socket_dir), port=self.port, dbname=dbname, user=user)
        return psycopg.conninfo.make_conninfo(
            host='127.0.0.1', port=self.port, dbname=dbname, user=user, password=password
        )

    def connect(self, dbname: str = 'postgres', user: str = SUPERUSER, password: str | None = None, **kwargs):
        return psycopg.connect(self.conninfo(dbname, user, password), **kwargs)
