"""job_tempdir: private, and always removed."""

import stat

import pytest

from metrics_utility.library.tempdir import job_tempdir

pytestmark = pytest.mark.unit


def test_directory_is_private_and_removed(tmp_path):
    with job_tempdir(base=tmp_path) as path:
        assert path.is_dir() and path.parent == tmp_path
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
        (path / 'nested').mkdir()
        (path / 'nested' / 'part.csv').write_text('a,b\n')
    assert not path.exists()


def test_directory_is_removed_when_the_job_fails(tmp_path):
    with pytest.raises(RuntimeError, match='boom'), job_tempdir(base=tmp_path) as path:
        (path / 'half-written.csv').write_text('x')
        raise RuntimeError('boom')
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_removal_survives_the_job_deleting_its_own_directory(tmp_path):
    with job_tempdir(base=tmp_path) as path:
        path.rmdir()
    assert not path.exists()
