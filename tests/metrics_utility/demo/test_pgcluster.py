"""The throwaway PostgreSQL cluster: clear errors when it cannot run."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from metrics_utility.demo.pgcluster import PostgresCluster, PostgresNotFoundError

pytestmark = pytest.mark.integration


def test_a_folder_the_server_user_cannot_reach_is_explained(tmp_path):
    if os.geteuid() != 0:
        pytest.skip('only as root does the cluster run as another user (postgres/nobody)')
    cluster = PostgresCluster(base_dir=tmp_path / 'pg')  # pytest's tmp_path lives below a 0700 folder
    with pytest.raises(PostgresNotFoundError, match='cannot enter'):
        cluster.start()


def test_a_root_folder_others_may_only_traverse_is_enough():
    """A clone in `mktemp -d` + `chmod o+x` (0701, group root without rights): the server must act as `other` there."""
    if os.geteuid() != 0:
        pytest.skip('only as root does the cluster run as another user (postgres/nobody)')
    base = Path(tempfile.mkdtemp(prefix='pg-traverse-'))
    try:
        base.chmod(0o701)
        with PostgresCluster(base_dir=base / 'repo' / 'pg') as cluster, cluster.connect() as conn:
            assert conn.execute('SELECT 1').fetchone() == (1,)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_missing_binaries_are_explained(monkeypatch, tmp_path):
    monkeypatch.setenv('METRICS_UTILITY_PG_BIN', str(tmp_path))
    monkeypatch.setenv('PATH', str(tmp_path))
    monkeypatch.setattr('glob.glob', lambda pattern: [])
    with pytest.raises(PostgresNotFoundError, match=r'METRICS_UTILITY_PG_BIN=.*apt-get install postgresql'):
        PostgresCluster()
