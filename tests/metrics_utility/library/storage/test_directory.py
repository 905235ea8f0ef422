"""StorageDirectory: round trip, overwrite, atomicity, names, glob semantics."""

import io

import pytest

from metrics_utility.library.storage import StorageDirectory, StorageError

pytestmark = pytest.mark.unit


def test_round_trip_with_every_payload_kind(tmp_path):
    storage = StorageDirectory(tmp_path / 'ship')
    src = tmp_path / 'src.bin'
    src.write_bytes(b'\x00binary\xff')
    storage.put('data/2024/02/29/a.tar.gz', filename=src)
    storage.put('data/2024/02/29/b.json', dict={'rows': 3})
    storage.put('data/2024/03/01/c.bin', fileobj=io.BytesIO(b'stream'))
    assert storage.glob('data/2024/*/*/*') == [
        'data/2024/02/29/a.tar.gz',
        'data/2024/02/29/b.json',
        'data/2024/03/01/c.bin',
    ]
    with storage.get('data/2024/02/29/a.tar.gz') as path:
        assert path.read_bytes() == b'\x00binary\xff'
    with storage.get('data/2024/02/29/b.json') as path:
        assert '"rows": 3' in path.read_text()
    assert storage.exists('data/2024/03/01/c.bin')
    storage.remove('data/2024/03/01/c.bin')
    storage.remove('data/2024/03/01/c.bin')  # removing twice is fine
    assert not storage.exists('data/2024/03/01/c.bin')


def test_same_name_overwrites(tmp_path):
    storage = StorageDirectory(tmp_path)
    storage.put('reports/x.json', dict={'v': 1})
    storage.put('reports/x.json', dict={'v': 2})
    assert storage.glob('reports/*') == ['reports/x.json']
    with storage.get('reports/x.json') as path:
        assert '"v": 2' in path.read_text()


def test_a_failed_write_leaves_nothing_visible(tmp_path):
    storage = StorageDirectory(tmp_path)

    class Exploding(io.RawIOBase):
        def readinto(self, buffer):
            raise OSError(28, 'No space left on device')

    with pytest.raises(StorageError, match='No space left on device'):
        storage.put('data/x.tar.gz', fileobj=Exploding())
    assert storage.glob('data/*') == []
    assert list((tmp_path / 'data').iterdir()) == []  # no temp file left behind either


@pytest.mark.parametrize('name', ['/etc/passwd', '../outside', 'data/../../x', 'data//x', 'data/./x', ''])
def test_names_cannot_escape(tmp_path, name):
    with pytest.raises(StorageError, match='invalid object name'):
        StorageDirectory(tmp_path).put(name, dict={})


def test_glob_star_stays_within_a_segment_and_missing_base_is_empty(tmp_path):
    storage = StorageDirectory(tmp_path)
    storage.put('data/2024/02/29/a.tar.gz', dict={})
    assert storage.glob('data/*') == []
    assert storage.glob('data/2024/02/2?/*.tar.gz') == ['data/2024/02/29/a.tar.gz']
    assert StorageDirectory(tmp_path / 'missing').glob('*') == []


def test_get_missing_and_put_argument_errors(tmp_path):
    storage = StorageDirectory(tmp_path)
    with pytest.raises(StorageError, match='not found'), storage.get('nope.json'):
        pass
    with pytest.raises(TypeError, match='exactly one'):
        storage.put('a.json', dict={}, fileobj=io.BytesIO())


def test_leftovers_of_a_killed_write_are_swept_by_the_next_write(tmp_path):
    storage = StorageDirectory(tmp_path)
    (tmp_path / 'data').mkdir()
    leftover = tmp_path / 'data' / '.x.tar.gz.abc123.part'
    leftover.write_bytes(b'half')
    assert storage.glob('data/*') == []  # never visible
    storage.put('data/x.tar.gz', dict={'ok': True})
    assert not leftover.exists()
    assert [p.name for p in (tmp_path / 'data').iterdir()] == ['x.tar.gz']
